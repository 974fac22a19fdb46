"""A dataset split held on the training device as one uint8 tensor and served as normalised,
augmented, resized float batches, with no host synchronisation per batch.

This replaces the lesson's DataLoader with PIL transforms: indexing a device tensor and doing
the arithmetic in batches costs a few kernel launches per step instead of per-image Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F


class BatchPrep:
    """Turns uint8 image batches on ``device`` into the model's input: augmented, normalised
    (the dataset's mean and std), resized to ``input_size``; the same steps for every data path."""

    def __init__(
        self,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        input_size: tuple[int, int],
        device: torch.device,
        channels_last: bool = False,
    ) -> None:
        self.device = device
        self.input_size = tuple(input_size)
        self.channels_last = channels_last
        # x / 255 then (x - mean) / std, folded into one multiply-add
        std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = -torch.tensor(mean, device=device).view(1, -1, 1, 1) / std_t

    def __call__(
        self, images: torch.Tensor, augment: Sequence[str] = (), generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x = images.float()
        if "flip" in augment:
            x = random_flip(x, generator)
        if "shift" in augment:
            x = random_shift(x, max(1, round(x.shape[-1] / 14)), generator)
        x = x * self.scale + self.shift
        if "erase" in augment:
            x = random_erase(x, generator)
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


class Split:
    """A split of a dataset as the trainer and evaluation see it: labels on ``device`` and
    batches of model-ready images, however the images are kept."""

    device: torch.device
    labels: torch.Tensor
    sharded = False  # True: it holds only this process's share of the split, not the whole

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self,
        batch_size: int,
        *,
        order: torch.Tensor | None = None,
        augment: Sequence[str] = (),
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches in ``order`` (indices, e.g. a shuffled shard) or in storage order."""
        if order is None:
            order = torch.arange(len(self), device=self.device)
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        return self._serve(chunks, augment, generator)

    def _serve(
        self, chunks: list[torch.Tensor], augment: Sequence[str], generator: torch.Generator | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError


class DeviceSplit(Split):
    """Images (uint8, N x C x H x W) and labels on ``prep.device``; batches come out as float32."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, prep: BatchPrep) -> None:
        self.images = images.to(prep.device)
        self.labels = labels.to(prep.device)
        self.device = prep.device
        self.prep = prep

    def _serve(
        self, chunks: list[torch.Tensor], augment: Sequence[str], generator: torch.Generator | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index in chunks:
            yield self.prep(self.images[index], augment, generator), self.labels[index]


def _uniform(n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, device=x.device, generator=generator)


def random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = _uniform(len(x), x, generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_shift(x: torch.Tensor, pad: int, generator: torch.Generator | None) -> torch.Tensor:
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
    generator: torch.Generator | None,
    *,
    p: float = 0.5,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """torchvision's RandomErasing (value 0 after normalisation), for a whole batch: each image
    with probability ``p`` gets one rectangle of random area and aspect ratio set to zero."""
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
    return x.masked_fill(inside.unsqueeze(1), 0.0)
