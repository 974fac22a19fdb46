"""What an evaluation shows beyond loss and accuracy: the confusion matrix, precision, recall
and F1 per class, top-k accuracy, the worst mistakes, and the figures drawn from them.

The figures are measured by torchmetrics (whose states are summed across processes under
torchrun); the worst mistakes are kept here, as no metrics library keeps the images.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..base.atomic import atomic_path, write_json
from ..contract.run import CONFUSION_FILE, ERRORS_FILE, EVAL_FILE
from ..runtime.distributed import Process, gather_objects

WORST = 16  # misclassified images in the grid of worst mistakes
TOP_K = 5  # top-k accuracy for k = 1 .. TOP_K (those below the class count)


@dataclass(frozen=True)
class Mistake:
    """One misclassified image: its position in the split, its label, the predicted class and
    the probability given to it."""

    index: int
    label: int
    predicted: int
    probability: float


@dataclass(frozen=True)
class ClassReport:
    """The per-class picture of one evaluation, JSON-able through :meth:`to_dict`."""

    classes: tuple[str, ...]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    precision: list[float]
    recall: list[float]
    f1: list[float]
    top_k: dict[int, float]
    worst: list[Mistake] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        support = [sum(row) for row in self.confusion]
        return {
            "classes": list(self.classes),
            "confusion_matrix": self.confusion,
            "per_class": {
                name: {"precision": p, "recall": r, "f1": f, "support": n}
                for name, p, r, f, n in zip(
                    self.classes, self.precision, self.recall, self.f1, support, strict=True
                )
            },
            "macro_f1": sum(self.f1) / len(self.f1) if self.f1 else float("nan"),
            "top_k_accuracy": {str(k): v for k, v in self.top_k.items()},
            "worst_mistakes": [
                {
                    "index": m.index,
                    "label": self.classes[m.label],
                    "predicted": self.classes[m.predicted],
                    "probability": m.probability,
                }
                for m in self.worst
            ],
        }


def preload() -> None:
    """Import torchmetrics (a second or more: it imports torchvision) on a thread of its own,
    while a run trains, so that the report at its end does not wait for it."""
    threading.Thread(target=_import_metrics, name="zoo-import-torchmetrics", daemon=True).start()


def _import_metrics() -> None:
    import torchmetrics.classification  # noqa: F401  (heavy: imported ahead, see preload)


class ReportBuilder:
    """Fed each batch's logits and labels by :func:`~zoo_core.training.evaluation.evaluate`;
    :meth:`finish` makes the :class:`ClassReport`."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        import torchmetrics.classification as tm  # heavy (imports torchvision): reports only
        from torchmetrics import MetricCollection  # heavy, as above

        per_class = {"num_classes": num_classes, "average": None, "zero_division": 0}
        metrics: dict[str, Any] = {
            "confusion": tm.MulticlassConfusionMatrix(num_classes),
            "precision": tm.MulticlassPrecision(**per_class),
            "recall": tm.MulticlassRecall(**per_class),
            "f1": tm.MulticlassF1Score(**per_class),
        }
        self.ks = [k for k in range(1, TOP_K + 1) if k < num_classes or k == 1]
        for k in self.ks:
            metrics[f"top{k}"] = tm.MulticlassAccuracy(num_classes, top_k=k, average="micro")
        self.metrics = MetricCollection(metrics, compute_groups=False).to(device)
        self.worst_loss = torch.empty(0, device=device)
        self.worst_rows = torch.empty(0, 4, device=device)  # index, label, predicted, probability

    def update(self, logits: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> None:
        self.metrics.update(logits, labels)
        probs = logits.softmax(1)
        best_prob, predicted = probs.max(1)
        wrong = predicted != labels
        loss = torch.where(
            wrong, -probs.gather(1, labels[:, None]).squeeze(1).clamp_min(1e-12).log(), -math.inf
        )
        rows = torch.stack([index.float(), labels.float(), predicted.float(), best_prob], 1)
        self.worst_loss = torch.cat([self.worst_loss, loss])
        self.worst_rows = torch.cat([self.worst_rows, rows])
        keep = self.worst_loss.topk(min(WORST, len(self.worst_loss))).indices
        self.worst_loss, self.worst_rows = self.worst_loss[keep], self.worst_rows[keep]

    def finish(self, classes: Sequence[str], process: Process) -> ClassReport:
        values = self.metrics.compute()  # summed over every process
        mine = [
            (float(loss), Mistake(int(r[0]), int(r[1]), int(r[2]), float(r[3])))
            for loss, r in zip(self.worst_loss.tolist(), self.worst_rows.tolist(), strict=True)
            if math.isfinite(loss)
        ]
        everyone = sorted((m for part in gather_objects(process, mine) for m in part), key=lambda m: -m[0])
        return ClassReport(
            classes=tuple(classes),
            confusion=values["confusion"].long().tolist(),
            precision=values["precision"].tolist(),
            recall=values["recall"].tolist(),
            f1=values["f1"].tolist(),
            top_k={k: float(values[f"top{k}"]) for k in self.ks},
            worst=[m for _, m in everyone[:WORST]],
        )


def write_report(
    report: ClassReport, folder: Path, *, images: torch.Tensor | None, title: str, suffix: str = ""
) -> list[Path]:
    """The confusion matrix and the worst mistakes as PNG files, and the numbers as JSON, in
    ``folder``; ``images`` are the worst mistakes' pixels (uint8, N x C x H x W), in order.
    Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    confusion, errors, numbers = report_paths(folder, suffix)
    _plot_confusion(report, confusion, title)
    if report.worst and images is not None:
        _plot_mistakes(report, images, errors, title)
    else:
        errors.unlink(missing_ok=True)  # an earlier evaluation's mistakes are not this one's
    write_json(numbers, report.to_dict())
    return [path for path in (confusion, errors, numbers) if path.exists()]


def report_paths(folder: Path, suffix: str = "") -> tuple[Path, Path, Path]:
    """Where :func:`write_report` puts the confusion matrix, the worst mistakes and the numbers."""
    return tuple(folder / name.format(suffix=suffix) for name in (CONFUSION_FILE, ERRORS_FILE, EVAL_FILE))  # type: ignore[return-value]


def _pyplot() -> Any:
    import matplotlib  # heavy: only for figures

    matplotlib.use("Agg")
    from matplotlib import pyplot  # heavy, as matplotlib

    return pyplot


def _plot_confusion(report: ClassReport, target: Path, title: str) -> None:
    """Counts in each cell, coloured by the share of the true class's images (the recall), so
    a small class's mistakes show as clearly as a large one's."""
    plt = _pyplot()
    counts = torch.tensor(report.confusion, dtype=torch.float64)
    shares = counts / counts.sum(1, keepdim=True).clamp_min(1)
    n = len(report.classes)
    side = max(5.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    shown = ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(
                    j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black",
                )  # fmt: skip
    ax.set_xticks(range(n), report.classes, rotation=45, ha="right")
    ax.set_yticks(range(n), report.classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    _save(plt, fig, target)


def _plot_mistakes(report: ClassReport, images: torch.Tensor, target: Path, title: str) -> None:
    """The worst mistakes, most confident first, each titled with its label and prediction."""
    plt = _pyplot()
    columns = min(4, len(report.worst))
    rows = math.ceil(len(report.worst) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, mistake, pixels in zip(axes.flat, report.worst, images, strict=False):
        picture = pixels.permute(1, 2, 0).numpy()
        grey = picture.shape[-1] == 1
        ax.imshow(picture[..., 0] if grey else picture, cmap="gray" if grey else None, vmin=0, vmax=255)
        ax.set_title(
            f"true {report.classes[mistake.label]}\nsaid {report.classes[mistake.predicted]} "
            f"{mistake.probability:.2f}",
            fontsize=8,
        )
    fig.suptitle(f"{title}: the worst mistakes")
    fig.tight_layout()
    _save(plt, fig, target)


def _save(plt: Any, fig: Any, target: Path) -> None:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
