"""The built-in optimizers, schedules and loss: torch's own, configured from the recipe."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo_core import Recipe, ZooError


def adam(groups: list[dict[str, Any]], *, recipe: Recipe, options: dict[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)


def adamw(groups: list[dict[str, Any]], *, recipe: Recipe, options: dict[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)


def sgd(groups: list[dict[str, Any]], *, recipe: Recipe, options: dict[str, Any]) -> torch.optim.Optimizer:
    if options["nesterov"] and options["momentum"] == 0:
        raise ZooError(f"recipe {recipe.name!r}: nesterov needs a momentum > 0 (set options momentum)")
    return torch.optim.SGD(
        groups,
        lr=recipe.lr,
        momentum=options["momentum"],
        nesterov=options["nesterov"],
        weight_decay=recipe.weight_decay,
    )


def constant(
    optimizer: torch.optim.Optimizer, *, recipe: Recipe, options: dict[str, Any], total_steps: int
) -> None:
    return None


def onecycle(
    optimizer: torch.optim.Optimizer, *, recipe: Recipe, options: dict[str, Any], total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in optimizer.param_groups],
        total_steps=max(total_steps, 10),  # it needs steps in each phase; tiny runs stop part-way
        pct_start=options["onecycle_warmup"],
        anneal_strategy="linear",
        cycle_momentum=False,
    )


def cosine(
    optimizer: torch.optim.Optimizer, *, recipe: Recipe, options: dict[str, Any], total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))


def cross_entropy(*, recipe: Recipe, options: dict[str, Any]) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=options["label_smoothing"])
