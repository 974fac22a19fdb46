"""A run from start to report: the run folder, then the recipe's trainer (a plugin on
``zoo_register_trainers``, the declared default unless the recipe names another) driving a
:class:`TrainingSession`; ``resume`` continues a killed run exactly from its last checkpoint.

What a run prints or logs is up to plugins on the trainer's hooks (the built-in run logger
prints the epoch lines); the session only calls them, on rank 0.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..base.errors import ZooError
from ..contract.recipe import Recipe
from ..contract.run import CHECKPOINT_FILE, RUN_FILE, Run
from ..host.training_parts import with_defaults
from ..runtime.devices import flush_denormal, resolve_device
from ..runtime.distributed import Process, from_main, init_process, shutdown
from .checkpoints import load_checkpoint
from .session import TrainingSession
from .settings import Settings


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
    recipe = with_defaults(recipe)  # recipe.json names every part that trains the run
    process = init_process(resolve_device(settings.device))
    try:
        ours = bool(process.restarts) and out is not None and Run.started_by_this_launch(out)
        if out is not None and from_main(process, ours if process.is_main else None):
            # torchrun restarted the group after a worker failed: go on from the last checkpoint
            # of the run this command started (never of one that was in --out before it)
            resumable = from_main(process, (out / CHECKPOINT_FILE).is_file() if process.is_main else None)
            if resumable:
                run = Run.open(out)
                return _continue(run, Settings(**run.settings), process, progress)
            if process.is_main and (out / RUN_FILE).is_file():  # it died before its first checkpoint
                Run.open(out).discard()
        session = TrainingSession(model_name, recipe, settings, process)
        directory = None
        if process.is_main:
            directory = Run.create(model_name, recipe, asdict(settings), out, runs_root).directory
        run = Run(from_main(process, directory), model_name, recipe, asdict(settings))
        try:
            return _fit(session, run, progress)
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
    if not run.checkpoint_path.is_file() and run.report_path.is_file():
        raise ZooError(
            f"{directory} holds a finished run (its report and weights are there) whose checkpoint is "
            f"gone, so it cannot be resumed; train on in a new run with --weights {run.best_path}"
        )
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
    session = TrainingSession(run.model, run.recipe, settings, process)
    history = session.restore(load_checkpoint(run.checkpoint_path, session.device))
    run.history = history
    return _fit(session, run, progress)


def _fit(session: TrainingSession, run: Run, progress: bool) -> dict[str, Any]:
    """Hand the session to the recipe's trainer; what it returns is the run's report."""
    processes = session.process.describe()
    run.data = session.splits.describe() + (f"; {processes}" if processes else "")
    session.run, session.progress = run, progress
    trainer = session.parts.trainer.spec.load()
    with flush_denormal(session.device):
        report = trainer(session)
    if not isinstance(report, dict):
        raise ZooError(
            f"trainer {session.recipe.trainer!r} (plugin {session.parts.trainer.spec.origin}) returned "
            f"{type(report).__name__}, not the report that session.finish() gives"
        )
    return report
