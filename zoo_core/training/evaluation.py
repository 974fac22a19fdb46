"""Evaluating a model on a dataset split: loss, accuracy and accuracy per class, and on request
the per-class report (confusion matrix, precision, recall, F1, top-k, worst mistakes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..base.errors import ZooError
from ..contract.recipe import Recipe
from ..contract.weights_info import WeightsInfo
from ..data.datasets import get_dataset
from ..data.device_data import Split
from ..data.splits import DataOptions, load_splits
from ..host.entries import DatasetSpec
from ..host.training_parts import tests_mirrored
from ..models.catalogue import get_model_spec
from ..models.factory import create_model
from ..models.pretrained import WeightsRef
from ..runtime.devices import autocast, eval_batch_size
from ..runtime.distributed import Process, sum_across
from .reports import ClassReport, ReportBuilder, report_paths, write_report

SPLITS = ("test", "val")


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy of a single pass (what ``model(x)`` gives), and beside them, when
    test-time augmentation was asked for, the loss and accuracy of the flip-averaged logits."""

    loss: float
    accuracy: float
    count: int
    class_correct: list[int] = field(default_factory=list)
    class_count: list[int] = field(default_factory=list)
    tta_loss: float | None = None
    tta_accuracy: float | None = None
    report: ClassReport | None = None

    def metrics(self, prefix: str) -> dict[str, float]:
        """``{prefix}_loss`` and ``{prefix}_accuracy``, and their ``_tta`` twins when measured."""
        found = {f"{prefix}_loss": self.loss, f"{prefix}_accuracy": self.accuracy}
        if self.tta_accuracy is not None and self.tta_loss is not None:
            found |= {f"{prefix}_loss_tta": self.tta_loss, f"{prefix}_accuracy_tta": self.tta_accuracy}
        return found

    def per_class_accuracy(self) -> list[float]:
        return [
            c / n if n else float("nan") for c, n in zip(self.class_correct, self.class_count, strict=True)
        ]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    *,
    num_classes: int,
    batch_size: int | None = None,
    tta: bool = False,
    amp: bool = False,
    process: Process | None = None,
    classes: Sequence[str] | None = None,
) -> Evaluation:
    """Cross-entropy and accuracy over ``split`` (this process's shard of it under torchrun);
    ``tta`` also measures the average of the logits of each image and its mirror image, and
    ``classes`` (their names) asks for the single pass's :class:`ClassReport`."""
    process = process or Process()
    batch_size = batch_size or eval_batch_size(split.device)
    model.eval()
    order = torch.arange(len(split), device=split.device)[process.rank :: process.world_size]
    # [loss, tta loss, tta correct, correct per class..., count per class...], summed on the device
    sums = torch.zeros(3 + 2 * num_classes, device=split.device, dtype=torch.float64)
    correct, count = sums[3 : 3 + num_classes], sums[3 + num_classes :]
    builder = ReportBuilder(num_classes, split.device) if classes is not None else None
    for start, (x, y) in zip(
        range(0, len(order), batch_size), split.batches(batch_size, order=order), strict=True
    ):
        with autocast(split.device, amp):
            logits = model(x).float()
            both = (logits + model(x.flip(-1)).float()) / 2 if tta else None
        sums[0] += F.cross_entropy(logits, y, reduction="sum").double()
        correct.index_add_(0, y, (logits.argmax(1) == y).double())  # no host sync, unlike bincount
        count.index_add_(0, y, torch.ones_like(y, dtype=torch.float64))
        if builder is not None:
            builder.update(logits, y, order[start : start + batch_size])
        if both is not None:
            sums[1] += F.cross_entropy(both, y, reduction="sum").double()
            sums[2] += (both.argmax(1) == y).sum().double()
    totals = sum_across(process, sums).tolist()
    class_correct, class_count = totals[3 : 3 + num_classes], totals[3 + num_classes :]
    n = max(int(sum(class_count)), 1)
    return Evaluation(
        loss=totals[0] / n,
        accuracy=sum(class_correct) / n,
        count=int(sum(class_count)),
        class_correct=[int(v) for v in class_correct],
        class_count=[int(v) for v in class_count],
        tta_loss=totals[1] / n if tta else None,
        tta_accuracy=totals[2] / n if tta else None,
        report=builder.finish(classes, process) if builder is not None and classes is not None else None,
    )


def evaluate_model(
    model: nn.Module,
    recipe: Recipe,
    *,
    split: str = "test",
    device: torch.device | None = None,
    data_dir: Path | None = None,
    download: bool = True,
    batch_size: int | None = None,
    channels: int | None = None,
    interpolation: str = "bilinear",
    crop_pct: float = 1.0,
    report_to: Path | None = None,
    title: str = "",
    accept: Callable[[DatasetSpec], None] | None = None,
) -> tuple[Evaluation, DatasetSpec]:
    """Evaluate ``model`` on the test split of ``recipe``'s dataset, or on the validation split
    that the recipe held out of the training images, as the recipe preprocesses them (images of
    varying size and mode converted to ``channels`` channels), with its per-class report;
    ``report_to``: write the report's figures and numbers into that folder (see
    :func:`write_split_report`). ``accept`` may refuse the data, once read, before any work."""
    if split not in SPLITS:
        raise ZooError(f"unknown split {split!r}; choose test or val")
    device = device or torch.device("cpu")
    dataset = get_dataset(recipe.dataset)
    splits = load_splits(
        dataset,
        recipe,
        device=device,
        channels=channels or dataset.in_channels or 3,
        options=DataOptions(
            data_dir=data_dir, download=download, interpolation=interpolation, crop_pct=crop_pct
        ),
        channels_last=True,
    )
    held = splits.test if split == "test" else splits.val
    if held is None:
        raise ZooError(
            f"{dataset.name} at {data_dir} has no test split; evaluate --split val, or add a test/ folder"
        )
    if accept is not None:
        accept(splits.dataset)
    model = model.to(device, memory_format=torch.channels_last)
    result = evaluate(
        model,
        held,
        num_classes=splits.dataset.num_classes,
        batch_size=batch_size,
        tta=tests_mirrored(recipe),
        classes=splits.dataset.classes,
    )
    if report_to is not None:
        write_split_report(result, held, report_to, title=title, suffix=f"-{split}")
    return result, splits.dataset


def write_split_report(
    result: Evaluation, split: Split, folder: Path, *, title: str, suffix: str = ""
) -> list[Path]:
    """``result``'s per-class report as ``confusion{suffix}.png``, ``errors{suffix}.png`` (the
    worst mistakes, their pixels taken from ``split``) and ``eval{suffix}.json`` in ``folder``."""
    if result.report is None:
        raise ZooError("this evaluation measured no per-class report: evaluate with classes=")
    worst = [m.index for m in result.report.worst]
    return write_report(
        result.report, folder, images=split.pixels(worst) if worst else None, title=title, suffix=suffix
    )


def evaluate_weights(
    name: str,
    weights: WeightsRef,
    *,
    split: str = "test",
    device: torch.device | None = None,
    data_dir: Path | None = None,
    download: bool = True,
    batch_size: int | None = None,
    dataset: str | None = None,
    report_to: Path | None = None,
) -> tuple[Evaluation, dict[str, Any]]:
    """Evaluate model ``name`` with trained weights (a tag, a file or a bundle) under the recipe
    they were trained with (on ``dataset`` instead of the recipe's, when given), writing the
    per-class report into ``report_to`` when given. Returns the evaluation and facts about what
    was evaluated."""
    model = create_model(name, weights=weights).eval()
    info = model.zoo_weights
    recipe = info.recipe or get_model_spec(name).recipe
    if dataset is not None:
        recipe = recipe.replace(dataset=dataset)
    known = get_dataset(recipe.dataset)
    if (
        known.classes
        and known.in_channels
        and (info.num_classes, info.in_channels)
        != (
            known.num_classes,
            known.in_channels,
        )
    ):
        raise ZooError(
            f"{weights} has {info.num_classes} classes and {info.in_channels} input channels, but "
            f"{known.name} has {known.num_classes} and {known.in_channels}: eval needs weights "
            f"for {known.name}'s images and classes"
        )
    result, dataset = evaluate_model(
        model,
        recipe,
        split=split,
        device=device,
        data_dir=data_dir,
        download=download,
        batch_size=batch_size,
        channels=info.in_channels,
        interpolation=info.interpolation,
        crop_pct=info.crop_pct,
        report_to=report_to,
        title=f"{name} ({_short(weights)}) on {data_dir.name if data_dir else recipe.dataset}, {split} split",
        accept=lambda found: require_same_classes(info, found, weights, data_dir),
    )
    facts = {
        "model": name,
        "weights": str(weights),
        "split": split,
        "dataset": dataset.name,
        "classes": list(info.labels or dataset.classes),
        "recipe": recipe.name,
        "tta": tests_mirrored(recipe),
    }
    if report_to is not None:
        facts["report_files"] = [str(p) for p in report_paths(report_to, f"-{split}") if p.exists()]
    return result, facts


def _short(weights: WeightsRef) -> str:
    """A weights file as its folder and name (a run's ``best.safetensors`` says little alone)."""
    if isinstance(weights, Path) or (isinstance(weights, str) and "/" in weights):
        path = Path(weights)
        return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return str(weights)


def require_same_classes(
    info: WeightsInfo, dataset: DatasetSpec, weights: WeightsRef, data_dir: Path | None
) -> None:
    """Refuse data whose classes are not the ones ``weights`` predict: accuracy on them is
    meaningless."""
    if dataset.num_classes != info.num_classes or (info.labels and tuple(info.labels) != dataset.classes):
        raise ZooError(
            f"{weights} predicts {info.num_classes} classes ({', '.join(info.labels) or 'unnamed'}), but the "
            f"data at {data_dir} have {dataset.num_classes} ({', '.join(dataset.classes)}): give the folder "
            "these weights were trained on"
        )
