"""Evaluating a model on a dataset split: loss, accuracy and accuracy per class."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .data import get_dataset, load_dataset, split_train_val
from .device_data import DeviceSplit
from .devices import autocast
from .distributed import Process, sum_across
from .entries import DatasetSpec
from .errors import ZooError
from .models import WeightsRef, create_model, get_model_spec
from .recipe import Recipe

SPLITS = ("test", "val")


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    count: int
    class_correct: list[int] = field(default_factory=list)
    class_count: list[int] = field(default_factory=list)

    def per_class_accuracy(self) -> list[float]:
        return [
            c / n if n else float("nan") for c, n in zip(self.class_correct, self.class_count, strict=True)
        ]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: DeviceSplit,
    *,
    num_classes: int,
    batch_size: int = 1024,
    tta: bool = False,
    amp: bool = False,
    process: Process | None = None,
) -> Evaluation:
    """Cross-entropy and accuracy over ``split`` (this process's shard of it under torchrun);
    ``tta`` averages the logits of each image and its mirror image."""
    process = process or Process()
    model.eval()
    order = torch.arange(len(split), device=split.device)[process.rank :: process.world_size]
    loss = torch.zeros((), device=split.device, dtype=torch.float64)
    correct = torch.zeros(num_classes, device=split.device, dtype=torch.int64)
    count = torch.zeros(num_classes, device=split.device, dtype=torch.int64)
    for x, y in split.batches(batch_size, order=order):
        with autocast(split.device, amp):
            logits = model(x)
            if tta:
                logits = (logits + model(x.flip(-1))) / 2
        logits = logits.float()
        loss += F.cross_entropy(logits, y, reduction="sum").double()
        correct.index_add_(0, y, (logits.argmax(1) == y).long())  # no host sync, unlike bincount
        count.index_add_(0, y, torch.ones_like(y))
    totals = sum_across(process, torch.cat([loss.view(1), correct.double(), count.double()]))
    total_loss, class_correct, class_count = (
        totals[0].item(),
        totals[1 : 1 + num_classes],
        totals[1 + num_classes :],
    )
    n = int(class_count.sum().item())
    return Evaluation(
        loss=total_loss / max(n, 1),
        accuracy=class_correct.sum().item() / max(n, 1),
        count=n,
        class_correct=[int(v) for v in class_correct.tolist()],
        class_count=[int(v) for v in class_count.tolist()],
    )


def evaluate_model(
    model: nn.Module,
    recipe: Recipe,
    *,
    split: str = "test",
    device: torch.device | None = None,
    data_dir: Path | None = None,
    download: bool = True,
    batch_size: int = 1024,
) -> tuple[Evaluation, DatasetSpec]:
    """Evaluate ``model`` on the test split of ``recipe``'s dataset, or on the validation split
    that the recipe held out of the training images, as the recipe preprocesses them."""
    if split not in SPLITS:
        raise ZooError(f"unknown split {split!r}; choose test or val")
    device = device or torch.device("cpu")
    dataset = get_dataset(recipe.dataset)
    data = load_dataset(dataset, data_dir=data_dir, download=download)
    if split == "test":
        images, labels = data.test_images, data.test_labels
    else:
        _, val_idx = split_train_val(data, recipe)
        images, labels = data.train_images[val_idx], data.train_labels[val_idx]
    held = DeviceSplit(
        images,
        labels,
        mean=dataset.mean,
        std=dataset.std,
        input_size=recipe.input_size,
        device=device,
        channels_last=True,
    )
    model = model.to(device, memory_format=torch.channels_last)
    result = evaluate(model, held, num_classes=dataset.num_classes, batch_size=batch_size, tta=recipe.tta)
    return result, dataset


def evaluate_weights(
    name: str,
    weights: WeightsRef,
    *,
    split: str = "test",
    device: torch.device | None = None,
    data_dir: Path | None = None,
    download: bool = True,
    batch_size: int = 1024,
) -> tuple[Evaluation, dict[str, Any]]:
    """Evaluate model ``name`` with trained weights (a tag or a file) under the recipe they were
    trained with. Returns the evaluation and facts about what was evaluated."""
    model = create_model(name, weights=weights).eval()
    recipe = model.zoo_weights.recipe or get_model_spec(name).recipe
    result, dataset = evaluate_model(
        model, recipe, split=split, device=device, data_dir=data_dir, download=download, batch_size=batch_size
    )
    facts = {
        "model": name,
        "weights": str(weights),
        "split": split,
        "dataset": dataset.name,
        "classes": list(dataset.classes),
        "recipe": recipe.name,
        "tta": recipe.tta,
    }
    return result, facts
