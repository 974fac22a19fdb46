"""A dataset split held on the training device as one uint8 tensor and served as augmented,
normalised, resized float batches, with no host synchronisation per batch.

This replaces the lesson's DataLoader with PIL transforms: indexing a device tensor and doing
the arithmetic in batches costs a few kernel launches per step instead of per-image Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor, torch.Tensor, "torch.Generator | None"], tuple[torch.Tensor, torch.Tensor]]
"""``augment(x, y, generator) -> (x, y)``: a registered batch augmentation, on float pixels in
[0, 255] before normalisation (see ``hookspecs.RegisterAugmentation``)."""


class BatchPrep:
    """Turns uint8 image batches on ``device`` into the model's input: augmented (the recipe's
    registered augmentations, which may change the labels too), normalised (the dataset's mean
    and std), resized to ``input_size``; the same steps for every data path."""

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
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        augment: Sequence[Augment] = (),
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.float()
        for step in augment:
            x, labels = step(x, labels, generator)
        x = x * self.scale + self.shift
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, labels


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
        augment: Sequence[Augment] = (),
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches in ``order`` (indices, e.g. a shuffled shard) or in storage order, each made
        by ``augment``'s steps in turn when given."""
        if order is None:
            order = torch.arange(len(self), device=self.device)
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        return self._serve(chunks, augment, generator)

    def _serve(
        self, chunks: list[torch.Tensor], augment: Sequence[Augment], generator: torch.Generator | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError

    def pixels(self, indices: Sequence[int]) -> torch.Tensor:
        """The images at ``indices`` as kept, before augmentation and normalisation (uint8,
        N x C x H x W, on the CPU): for showing them."""
        raise NotImplementedError


class DeviceSplit(Split):
    """Images (uint8, N x C x H x W) and labels on ``prep.device``; batches come out as float32."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, prep: BatchPrep) -> None:
        self.images = images.to(prep.device)
        self.labels = labels.to(prep.device)
        self.device = prep.device
        self.prep = prep

    def _serve(
        self, chunks: list[torch.Tensor], augment: Sequence[Augment], generator: torch.Generator | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index in chunks:
            yield self.prep(self.images[index], self.labels[index], augment, generator)

    def pixels(self, indices: Sequence[int]) -> torch.Tensor:
        return self.images[torch.as_tensor(list(indices), dtype=torch.long, device=self.device)].cpu()
