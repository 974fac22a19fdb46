"""Loggers a run writes to when asked (``zoo train --logger csv --logger tensorboard``): the
epoch metrics as a CSV table, and as TensorBoard scalars (``tensorboard --logdir RUN``).

Both are registered loggers, made by the run as it starts, rather than hooks that always run:
TensorBoard's package is optional, and a run that did not ask for a file gets none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from zoo_core import Run, ZooError, hookimpl, write_bytes

CSV_FILE = "metrics.csv"
TENSORBOARD_FOLDER = "tensorboard"


@hookimpl
def zoo_register_loggers(register):
    register(
        "csv",
        CsvLogger,
        description=f"The epoch metrics as a table, {CSV_FILE} in the run folder (a spreadsheet opens it).",
    )
    register(
        "tensorboard",
        TensorBoardLogger,
        description=f"The epoch metrics as TensorBoard scalars in RUN/{TENSORBOARD_FOLDER}/ "
        "(needs the tensorboard package: pip install 'zoo-core[tensorboard]').",
    )


class CsvLogger:
    """``metrics.csv``, one row per epoch, rewritten whole from the run's history each epoch, so a
    resumed run never holds an epoch twice."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def epoch_end(self, metrics: Mapping[str, Any]) -> None:
        columns = list(dict.fromkeys(key for row in self.run.history for key in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.run.history)
        write_bytes(self.run.file(CSV_FILE), text.getvalue().encode())


class TensorBoardLogger:
    """Each epoch's losses, accuracies and learning rate as scalars (``loss/train``,
    ``loss/val``, ``accuracy/...``), and the test figures at the end."""

    def __init__(self, run: Run) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
        except ImportError:
            raise ZooError(
                "--logger tensorboard needs the tensorboard package: pip install 'zoo-core[tensorboard]'"
            ) from None
        self.writer = SummaryWriter(log_dir=str(run.file(TENSORBOARD_FOLDER)))

    def epoch_end(self, metrics: Mapping[str, Any]) -> None:
        epoch = int(metrics["epoch"])
        for key, value in metrics.items():
            tag = _tag(key)
            if tag is not None and isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(tag, value, epoch)
        self.writer.flush()

    def end(self, report: Mapping[str, Any]) -> None:
        for key in ("test_loss", "test_accuracy", "test_loss_tta", "test_accuracy_tta"):
            if isinstance(report.get(key), int | float):
                self.writer.add_scalar(_tag(key) or key, report[key], int(report.get("best_epoch", 0)))
        self.writer.close()


def _tag(key: str) -> str | None:
    """``train_loss`` -> ``loss/train``: one chart per measure, a line per split."""
    split, _, measure = key.partition("_")
    if split in ("train", "val", "test") and measure:
        return f"{measure}/{split}"
    return {"lr": "learning_rate", "seconds": "seconds_per_epoch"}.get(key)
