"""The built-in run logger: the console's epoch lines, ``metrics.jsonl`` after every epoch, and
``curves.png`` and the result line at the end.

It is a plugin on the trainer's hooks, exactly as a third-party logger would be.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from zoo_core import Run, atomic_path, hookimpl, write_bytes

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"


@hookimpl
def zoo_train_start(run: Run) -> None:
    # matplotlib takes ~0.6 s to import: done while the first epoch trains, ready for the curves
    threading.Thread(target=_import_pyplot, name="zoo-import-pyplot", daemon=True).start()
    if run.data:
        print(run.data, flush=True)
    subset = run.settings.get("subset")
    if subset:
        print(
            f"smoke run (--subset {subset}): the first {subset:,} training images, and only the first "
            "fifth as many test images, so the test figures are rough",
            flush=True,
        )
    if run.history:
        print(f"resuming {run.directory} after epoch {run.history[-1]['epoch']}", flush=True)


@hookimpl
def zoo_train_epoch_end(run: Run, metrics: Mapping[str, Any]) -> None:
    # Rewritten whole from the run's history, so a resumed run never holds an epoch twice.
    write_bytes(run.file(METRICS_FILE), "".join(json.dumps(m) + "\n" for m in run.history).encode())
    earlier = run.history[:-1]
    if run.recipe.best_by == "val_accuracy":
        best = all(metrics["val_accuracy"] > m["val_accuracy"] for m in earlier)
    else:
        best = all(metrics["val_loss"] < m["val_loss"] for m in earlier)
    print(
        f"epoch {metrics['epoch']:>3}/{run.recipe.epochs}  train loss {metrics['train_loss']:.4f} "
        f"acc {metrics['train_accuracy']:.4f}  val loss {metrics['val_loss']:.4f} "
        f"acc {metrics['val_accuracy']:.4f}  {metrics['seconds']:.1f}s{'  *' if best else ''}",
        flush=True,
    )


@hookimpl
def zoo_train_end(run: Run, report: Mapping[str, Any]) -> None:
    plot_curves(run)
    tta = f" (flip TTA {report['test_accuracy_tta']:.4f})" if "test_accuracy_tta" in report else ""
    result = (
        f"test accuracy {report['test_accuracy']:.4f}{tta}, loss {report['test_loss']:.4f}"
        if "test_accuracy" in report
        else f"validation accuracy {report['best_val_accuracy']:.4f} (the data have no test split)"
    )
    print(f"{report['stopped']}; best epoch {report['best_epoch']}: {result} ({run.directory})", flush=True)


def _import_pyplot() -> Any:
    import matplotlib  # heavy: only for a run's curves

    matplotlib.use("Agg")
    from matplotlib import pyplot  # heavy, as matplotlib

    return pyplot


def plot_curves(run: Run) -> None:
    """Loss (on a log scale, so a fine-tune's first epoch does not flatten the rest), accuracy
    and learning rate per epoch, training and validation, with the best epoch marked (by the
    recipe's ``best_by``)."""
    plt = _import_pyplot()
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator  # with pyplot, already imported

    history = run.history
    epochs = [m["epoch"] for m in history]
    fig, (loss_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(14, 4))
    for ax, keys in ((loss_ax, ("train_loss", "val_loss")), (acc_ax, ("train_accuracy", "val_accuracy"))):
        for key, label in zip(keys, ("train", "validation"), strict=True):
            ax.plot(epochs, [m[key] for m in history], marker="o", markersize=3, label=label)
    lr_ax.plot(epochs, [m.get("lr", float("nan")) for m in history], marker="o", markersize=3, color="C2")
    if all(m["train_loss"] > 0 and m["val_loss"] > 0 for m in history):
        loss_ax.set_yscale("log")
        for axis in (loss_ax.yaxis.set_major_formatter, loss_ax.yaxis.set_minor_formatter):
            axis(FormatStrFormatter("%.3g"))  # 0.3, not 3 x 10^-1
    if run.recipe.best_by == "val_accuracy":
        best = max(history, key=lambda m: m["val_accuracy"])["epoch"]
    else:
        best = min(history, key=lambda m: m["val_loss"])["epoch"]
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy"), (lr_ax, "learning rate")):
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch {best}")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{run.model} on {run.recipe.dataset} ({run.directory.name})")
    fig.tight_layout()
    with atomic_path(run.file(CURVES_FILE)) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
