"""A training run's directory and what it holds: part of the contract, since the trainer's
hooks hand a :class:`Run` to every logger plugin.

    runs/<model>-<timestamp>/
        run.json          model name and how the run was started (device, precision, limits)
        recipe.json       the recipe, overrides applied
        checkpoint.pt     last epoch's full state (model, optimizer, scheduler, RNG, early stopping)
        best.safetensors  the weights with the best validation loss so far
        last.safetensors  the weights training ended with (the lesson reported these)
        metrics.jsonl     one line per epoch        (written by the run_log plugin)
        report.json       the result, test accuracy of the best weights
        curves.png        loss and accuracy per epoch (written by the run_log plugin)

Every file is written atomically, so a run killed at any moment can be resumed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..base.atomic import write_json
from ..base.errors import ZooError
from .recipe import Recipe

RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class Run:
    """A run directory plus the state the trainer and its hooks share."""

    directory: Path
    model: str
    recipe: Recipe
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    data: str = ""  # one line: the dataset, its splits and how they are served

    recipe_path = property(lambda self: self.directory / "recipe.json")
    checkpoint_path = property(lambda self: self.directory / CHECKPOINT_FILE)
    best_path = property(lambda self: self.directory / "best.safetensors")
    last_path = property(lambda self: self.directory / "last.safetensors")
    metrics_path = property(lambda self: self.directory / "metrics.jsonl")
    report_path = property(lambda self: self.directory / "report.json")
    curves_path = property(lambda self: self.directory / "curves.png")

    @classmethod
    def create(
        cls, model: str, recipe: Recipe, settings: dict[str, Any], out: Path | None, root: Path
    ) -> Run:
        """Make a fresh directory (``out``, or ``root/<model>-<timestamp>``) holding run.json and
        recipe.json; an existing non-empty ``out`` is refused rather than overwritten."""
        if out is None:
            out = cls.new_directory(model, root)
        elif out.is_dir() and (out / RUN_FILE).is_file() and not (out / CHECKPOINT_FILE).is_file():
            raise ZooError(
                f"{out} holds a run that stopped before its first checkpoint, so it cannot be resumed; "
                "delete the folder to start again there, or choose another --out"
            )
        elif out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ZooError(
                f"{out} already exists and is not an empty folder; resume it with --resume {out} "
                "or choose another --out"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ZooError(f"cannot create run folder {out}: {exc.strerror or exc}") from None
        run = cls(out, model, recipe, settings)
        write_json(run.directory / RUN_FILE, {"model": model, "settings": settings})
        write_json(run.recipe_path, recipe.to_dict())
        return run

    @staticmethod
    def new_directory(model: str, root: Path) -> Path:
        """``root/<model>-<timestamp>``, numbered when that exists already."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out, suffix = root / f"{model}-{stamp}", 1
        while out.exists():
            suffix += 1
            out = root / f"{model}-{stamp}-{suffix}"
        return out

    def discard(self) -> None:
        """Remove every file a run writes (it never holds anyone else's: :meth:`create` takes
        only an empty folder), and the folder if that leaves it empty."""
        paths = (self.recipe_path, self.best_path, self.last_path, self.metrics_path, self.curves_path)
        for path in (self.directory / RUN_FILE, *paths, self.report_path):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    @classmethod
    def open(cls, directory: Path) -> Run:
        """An existing run, to resume or to report on."""
        try:
            info = json.loads((directory / RUN_FILE).read_text())
            model, settings = info["model"], info["settings"]
            if not isinstance(model, str) or not isinstance(settings, dict):
                raise TypeError("'model' must be a name and 'settings' an object")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ZooError(
                f"{directory} is not a zoo run folder ({RUN_FILE}: {type(exc).__name__}: {exc})"
            ) from None
        return cls(directory, model, Recipe.from_file(directory / "recipe.json"), settings)
