"""Mixup on a device batch: one blend weight per batch, a shuffled partner per image."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from zoo_core import DatasetSpec, Recipe


def mixup(*, recipe: Recipe, options: dict[str, Any], dataset: DatasetSpec) -> Any:
    beta = torch.distributions.Beta(options["mixup_alpha"], options["mixup_alpha"])
    classes = dataset.num_classes

    def augment(
        x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # The weight comes from torch's global generator, which a checkpoint keeps too; the
        # partners from the run's augmentation generator.
        weight = beta.sample()
        partner = torch.randperm(len(x), device=x.device, generator=generator)
        targets = F.one_hot(y, classes).float() if y.ndim == 1 else y
        return x.lerp(x[partner], 1 - weight), targets.lerp(targets[partner], 1 - weight)

    return augment
