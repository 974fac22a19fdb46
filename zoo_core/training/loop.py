"""A run from start to report: epochs until the recipe or early stopping says stop, a checkpoint
after every epoch (so ``resume`` continues a killed run exactly), the best and last weights, and
the test of the best weights.

What a run prints or logs is up to plugins on the trainer's hooks (the built-in run logger
prints the epoch lines); the loop only calls them, on rank 0.
"""

from __future__ import annotations

import hashlib
import math
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..atomic import write_json
from ..devices import device_name, flush_denormal, resolve_device, sync_time
from ..distributed import Process, barrier, from_main, gather_objects, init_process, shutdown
from ..errors import ZooError
from ..plugins import notify
from ..recipe import Recipe
from ..run import CHECKPOINT_FILE, RUN_FILE, Run
from ..version import __version__
from ..weights import load_weights, save_weights
from ..weights_info import WeightsInfo
from .checkpoints import FileWriter, load_checkpoint, save_checkpoint, to_cpu
from .settings import Settings
from .trainer import Trainer


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


def train(
    model_name: str,
    recipe: Recipe,
    settings: Settings | None = None,
    *,
    out: Path | None = None,
    runs_root: Path = Path("runs"),
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model_name`` with ``recipe`` (see :func:`zoo_core.get_recipe`) in a new run
    directory (``out``, or ``runs_root/NAME-TIMESTAMP``); return the run's report."""
    settings = settings or Settings()
    process = init_process(resolve_device(settings.device))
    try:
        if process.restarts and out is not None:
            # torchrun restarted the group after a worker failed: go on from the last checkpoint
            resumable = from_main(process, (out / CHECKPOINT_FILE).is_file() if process.is_main else None)
            if resumable:
                run = Run.open(out)
                return _continue(run, Settings(**run.settings), process, progress)
            if process.is_main and (out / RUN_FILE).is_file():  # it died before its first checkpoint
                Run.open(out).discard()
        trainer = Trainer(model_name, recipe, settings, process)
        directory = None
        if process.is_main:
            directory = Run.create(model_name, recipe, asdict(settings), out, runs_root).directory
        run = Run(from_main(process, directory), model_name, recipe, asdict(settings))
        run.data = _first_line(trainer)
        try:
            return _fit(trainer, run, progress)
        except BaseException:
            if process.is_main and not run.checkpoint_path.exists():
                run.discard()  # nothing worth keeping yet
            raise
    finally:
        shutdown(process)


def resume(
    directory: Path, *, model: str | None = None, device: str | None = None, progress: bool = True
) -> dict[str, Any]:
    """Continue the run in ``directory`` from its last checkpoint, exactly where it stopped,
    with the settings it was started with; ``device`` moves it to another device. ``model``,
    when given, must be the run's model."""
    run = Run.open(directory)
    if model and model != run.model:
        raise ZooError(f"{directory} is a run of {run.model!r}, not {model!r}")
    if not run.checkpoint_path.is_file():
        raise ZooError(
            f"{directory} holds a run that stopped before its first checkpoint, so it cannot be resumed; "
            "delete the folder and start a new run"
        )
    settings = Settings(**{**run.settings, **({"device": device} if device else {})})
    process = init_process(resolve_device(settings.device))
    try:
        return _continue(run, settings, process, progress)
    finally:
        shutdown(process)


def _continue(run: Run, settings: Settings, process: Process, progress: bool) -> dict[str, Any]:
    """Train ``run`` on from its last checkpoint."""
    trainer = Trainer(run.model, run.recipe, settings, process)
    run.data = _first_line(trainer)
    run.history = trainer.restore(load_checkpoint(run.checkpoint_path, trainer.device))
    return _fit(trainer, run, progress)


def _first_line(trainer: Trainer) -> str:
    """What the run prints first: its data, and how many processes on how many nodes."""
    processes = trainer.process.describe()
    return trainer.splits.describe() + (f"; {processes}" if processes else "")


def _fit(trainer: Trainer, run: Run, progress: bool) -> dict[str, Any]:
    main = trainer.process.is_main
    header = _weights_info(trainer, run).to_metadata()
    wall_start = time.perf_counter() - trainer.state.wall_seconds
    if main:
        notify("zoo_train_start", run=run)
    with flush_denormal(trainer.device):
        with FileWriter() as writer:
            while trainer.stop_reason() is None:
                metrics, improved = _epoch(trainer, run, progress)
                trainer.state.wall_seconds = time.perf_counter() - wall_start
                jobs = (
                    [(save_weights, to_cpu(trainer.model.state_dict()), run.best_path, header)]
                    if improved
                    else []
                )
                jobs.append((save_checkpoint, to_cpu(trainer.checkpoint(run.history)), run.checkpoint_path))
                if main:
                    writer.submit(jobs)  # written while the next epoch trains
                    notify("zoo_train_epoch_end", run=run, metrics=metrics)
        if main:  # the final weights, before the report loads the best ones into the model
            save_weights(trainer.model.state_dict(), run.last_path, header)
        report = _final_report(trainer, run)
    report["wall_seconds"] = time.perf_counter() - wall_start
    if main:
        write_json(run.report_path, report)
        notify("zoo_train_end", run=run, report=report)
    barrier(trainer.process)  # rank 0 wrote the report; leave the process group together
    return report


def _epoch(trainer: Trainer, run: Run, progress: bool) -> tuple[dict[str, Any], bool]:
    """Train and validate one epoch; its metrics (appended to the run's history), and whether
    its validation loss is the best so far."""
    state = trainer.state
    state.epoch += 1
    bar = _progress(
        progress and trainer.process.is_main, trainer.steps_per_epoch, state.epoch, run.recipe.epochs
    )
    start = sync_time(trainer.device)
    try:
        train_metrics = trainer.train_epoch(bar)
    finally:
        bar.close()
    seconds = sync_time(trainer.device) - start
    state.train_seconds += seconds
    if not math.isfinite(train_metrics["train_loss"]):
        kept = f"; the last good checkpoint is in {run.directory}" if state.epoch > 1 else ""
        raise TrainingDiverged(
            f"training diverged: the loss became {train_metrics['train_loss']} in epoch "
            f"{state.epoch}; lower the learning rate (now {run.recipe.lr}) or turn off --amp{kept}"
        )
    val = trainer.evaluate(trainer.val_split)
    improved = trainer.observe(val.loss)
    metrics = {
        "epoch": state.epoch,
        **train_metrics,
        "val_loss": val.loss,
        "val_accuracy": val.accuracy,
        "seconds": seconds,
        "steps": state.steps,
    }
    run.history.append(metrics)
    return metrics, improved


def _weights_info(trainer: Trainer, run: Run) -> WeightsInfo:
    """What the run's weights files say about themselves."""
    dataset = trainer.dataset
    return WeightsInfo(
        model=run.model,
        num_classes=dataset.num_classes,
        in_channels=dataset.in_channels,
        input_size=run.recipe.input_size,
        mean=dataset.mean,
        std=dataset.std,
        labels=dataset.classes,
        dataset=dataset.name,
        recipe=run.recipe,
        source=f"zoo train on {device_name(trainer.device)}",
        versions={"zoo-core": __version__, "torch": torch.__version__},
        **(_parent_fields(trainer.parent) if trainer.parent else {}),
    )


def _parent_fields(parent: WeightsInfo) -> dict[str, Any]:
    """What fine-tuned weights record of the weights they started from, and the preprocessing
    they keep."""
    where = parent.tag or (parent.file.name if parent.file else "?")
    return {
        "interpolation": parent.interpolation,
        "parent": {"model": parent.model, "weights": where, "sha256": parent.sha256 or ""},
    }


def _final_report(trainer: Trainer, run: Run) -> dict[str, Any]:
    """Test loss and accuracy of the best weights (the lesson reported the last epoch's)."""
    process, state = trainer.process, trainer.state
    best = from_main(process, load_weights(run.best_path)[0] if process.is_main else None)
    trainer.model.load_state_dict(best)
    test = trainer.evaluate(trainer.test_split, tta=True) if trainer.test_split is not None else None
    val = min(run.history, key=lambda m: m["val_loss"])
    return {
        "model": run.model,
        "recipe": trainer.recipe.name,
        "dataset": trainer.dataset.name,
        "epochs": state.epoch,
        "best_epoch": state.best_epoch,
        "stopped": trainer.stop_reason(),
        "steps": state.steps,
        "best_val_loss": val["val_loss"],
        "best_val_accuracy": val["val_accuracy"],
        **(test.metrics("test") if test else {}),
        "test_images": test.count if test else 0,
        "train_seconds": state.train_seconds,
        "images_per_second": state.images_seen / max(state.train_seconds, 1e-9),
        "device": device_name(trainer.device),
        "amp": trainer.amp,
        "channels_last": trainer.settings.channels_last,
        "world_size": process.world_size,
        "rank_checksums": gather_objects(process, _checksum(trainer.model)),
        "versions": {
            "zoo-core": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }


def _checksum(model: torch.nn.Module) -> str:
    """sha256 of every parameter and buffer's bytes: equal on every rank when DDP kept them equal."""
    return hashlib.sha256(
        b"".join(
            v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            for v in model.state_dict().values()
        )
    ).hexdigest()


class _Quiet:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, epoch: int, epochs: int) -> tqdm | _Quiet:
    """A per-epoch progress bar on stderr, or one that shows nothing."""
    if not enabled:
        return _Quiet()
    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="step", leave=False, file=sys.stderr)
