"""The built-in batch augmentations, on float pixels in [0, 255] before normalisation, on the
device. flip, shift and erase work on whole batches at once (a few kernel launches per step
instead of per-image Python); the photo augmentations (random resized crop, colour jitter,
TrivialAugment) are torchvision.transforms.v2's, drawn per image from the run's generator."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from zoo_core import DatasetSpec, Recipe

Generator = torch.Generator | None
Batch = tuple[torch.Tensor, torch.Tensor]


def flip(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    def augment(x: torch.Tensor, y: torch.Tensor, generator: Generator) -> Batch:
        return random_flip(x, generator), y

    return augment


def shift(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    def augment(x: torch.Tensor, y: torch.Tensor, generator: Generator) -> Batch:
        return random_shift(x, max(1, round(x.shape[-1] / 14)), generator), y

    return augment


def erase(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    mean = [255.0 * m for m in dataset.mean]

    def augment(x: torch.Tensor, y: torch.Tensor, generator: Generator) -> Batch:
        fill = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
        return random_erase(x, generator, fill=fill, p=options["erase_p"]), y

    return augment


def random_resized_crop(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    from torchvision.transforms import v2  # heavy: only for runs that use it

    def make(x: torch.Tensor) -> Any:
        return v2.RandomResizedCrop(
            tuple(x.shape[-2:]), scale=(options["crop_scale_min"], 1.0), antialias=True
        )

    return _per_image(make)


def color_jitter(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    from torchvision.transforms import v2  # heavy: only for runs that use it

    strength = options["color_jitter"]
    jitter = v2.ColorJitter(brightness=strength, contrast=strength, saturation=strength)
    return _per_image(lambda x: jitter)


def trivial_augment(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    from torchvision.transforms import v2  # heavy: only for runs that use it

    augment = v2.TrivialAugmentWide()
    return _per_image(lambda x: augment)


def _per_image(make: Any) -> Any:
    """A batch augmentation applying ``make(batch)``'s transform (a torchvision.transforms.v2
    transform, which draws one set of parameters per call) to each image separately, on uint8
    pixels as those transforms expect. Its draws come from the run's generator: each image's
    seed is drawn from it and torch's global stream is left as it was, so a resumed run
    draws the same crops."""

    def augment(x: torch.Tensor, y: torch.Tensor, generator: Generator) -> Batch:
        transform = make(x)
        seeds = (_uniform(len(x), x, generator) * 2**31).long().tolist()
        pixels = x.round().clamp(0, 255).to(torch.uint8)
        with torch.random.fork_rng(devices=[]):
            out = []
            for image, seed in zip(pixels, seeds, strict=True):
                torch.manual_seed(seed)
                out.append(transform(image))
        return torch.stack(out).to(x.dtype), y

    return augment


def _uniform(n: int, x: torch.Tensor, generator: Generator) -> torch.Tensor:
    return torch.rand(n, device=x.device, generator=generator)


def random_flip(x: torch.Tensor, generator: Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = _uniform(len(x), x, generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_shift(x: torch.Tensor, pad: int, generator: Generator) -> torch.Tensor:
    """Translate each image by up to ``pad`` pixels each way, filling with zeros (a random crop
    of the zero-padded image, gathered for the whole batch at once)."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = (_uniform(n, x, generator) * (2 * pad + 1)).long()
    dx = (_uniform(n, x, generator) * (2 * pad + 1)).long()
    rows = (dy.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, channel, rows, cols]


def random_erase(
    x: torch.Tensor,
    generator: Generator,
    *,
    fill: torch.Tensor | float = 0.0,
    p: float = 0.5,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """torchvision's RandomErasing for a whole batch: each image with probability ``p`` gets one
    rectangle of random area and aspect ratio set to ``fill`` (a value per channel, or one)."""
    n, _, h, w = x.shape
    area = (scale[0] + (scale[1] - scale[0]) * _uniform(n, x, generator)) * h * w
    log_lo, log_hi = torch.log(torch.tensor(ratio, device=x.device))
    aspect = torch.exp(log_lo + (log_hi - log_lo) * _uniform(n, x, generator))
    eh = torch.sqrt(area * aspect).round().clamp(1, h)
    ew = torch.sqrt(area / aspect).round().clamp(1, w)
    top = (_uniform(n, x, generator) * (h - eh + 1)).floor()
    left = (_uniform(n, x, generator) * (w - ew + 1)).floor()
    apply = _uniform(n, x, generator) < p
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + ew).view(n, 1, 1))
        & apply.view(n, 1, 1)
    )
    return torch.where(inside.unsqueeze(1), torch.as_tensor(fill, dtype=x.dtype, device=x.device), x)
