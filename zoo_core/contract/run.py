"""A training run's directory and what it holds: part of the contract, since the trainer's
hooks hand a :class:`Run` to every logger plugin.

    runs/<model>-<timestamp>/
        run.json          model name and how the run was started (device, precision, limits)
        recipe.json       the recipe, overrides applied
        checkpoint.pt     last epoch's full state (model, optimizer, scheduler, RNG, early stopping)
        best.safetensors  the weights with the best validation loss so far
        last.safetensors  the weights training ended with (the lesson reported these)
        report.json       the result, test accuracy of the best weights
        ...               what logger plugins write there, each file asked for by name
                          (:meth:`Run.file`)

Every file is written atomically, so a run killed at any moment can be resumed. This class is
the one owner of these names: everything else asks a :class:`Run` for its paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..base.atomic import write_json
from ..base.checks import path_name
from ..base.errors import ZooError
from .recipe import Recipe

RUN_FILE = "run.json"
# Set by `zoo train`'s launcher for every torchrun worker it starts; run.json records it, so a
# restarted worker takes up only the run that this very command started.
LAUNCH_ENV = "ZOO_LAUNCH_ID"
CHECKPOINT_FILE = "checkpoint.pt"
RECIPE_FILE = "recipe.json"
BEST_FILE = "best.safetensors"
LAST_FILE = "last.safetensors"
REPORT_FILE = "report.json"
OWN_FILES = (RUN_FILE, CHECKPOINT_FILE, RECIPE_FILE, BEST_FILE, LAST_FILE, REPORT_FILE)
# An evaluation's report (``zoo eval``, and a run's test split with suffix "-test"); the worst
# mistakes show the data's own images, so publishing leaves them in the run folder.
CONFUSION_FILE = "confusion{suffix}.png"
ERRORS_FILE = "errors{suffix}.png"
EVAL_FILE = "eval{suffix}.json"
# zoo 0.1's Run named two files of the built-in logger; kept for loggers written against it
LEGACY_PATHS = {"metrics_path": "metrics.jsonl", "curves_path": "curves.png"}


@dataclass
class Run:
    """A run directory plus the state the trainer and its hooks share."""

    directory: Path
    model: str
    recipe: Recipe
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    data: str = ""  # one line: the dataset, its splits and how they are served

    recipe_path = property(lambda self: self.directory / RECIPE_FILE)
    checkpoint_path = property(lambda self: self.directory / CHECKPOINT_FILE)
    best_path = property(lambda self: self.directory / BEST_FILE)
    last_path = property(lambda self: self.directory / LAST_FILE)
    report_path = property(lambda self: self.directory / REPORT_FILE)

    def file(self, name: str) -> Path:
        """The path of a plugin's file ``name`` in the run folder (a logger's metrics, a plot):
        a plain file name, none of the run's own."""
        if not name or name != Path(name).name or name.startswith(".") or name in OWN_FILES:
            raise ZooError(
                f"a run's plugin file must be a plain file name other than {', '.join(OWN_FILES)}, "
                f"got {name!r}"
            )
        return self.directory / name

    def __getattr__(self, name: str) -> Path:
        if name in LEGACY_PATHS:
            warnings.warn(
                f"Run.{name} is deprecated since zoo 0.2; use run.file({LEGACY_PATHS[name]!r})",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.file(LEGACY_PATHS[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        elif out.exists() and not out.is_dir():
            raise ZooError(f"--out {out} is a file, not a folder; choose another --out")
        elif out.exists() and any(out.iterdir()):
            raise ZooError(
                f"{out} already exists and is not an empty folder; resume it with --resume {out} "
                "or choose another --out"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ZooError(f"cannot create run folder {out}: {exc.strerror or exc}") from None
        run = cls(out, model, recipe, settings)
        launch = {"launch": os.environ[LAUNCH_ENV]} if os.environ.get(LAUNCH_ENV) else {}
        write_json(run.directory / RUN_FILE, {"model": model, "settings": settings, **launch})
        write_json(run.recipe_path, recipe.to_dict())
        return run

    @staticmethod
    def started_by_this_launch(directory: Path) -> bool:
        """Whether the run in ``directory`` was created by the launch this process belongs to."""
        ours = os.environ.get(LAUNCH_ENV)
        try:
            return bool(ours) and json.loads((directory / RUN_FILE).read_text()).get("launch") == ours
        except (OSError, ValueError, AttributeError):
            return False

    @staticmethod
    def new_directory(model: str, root: Path) -> Path:
        """``root/<model>-<timestamp>`` (``timm--resnet50-...`` for a namespaced model),
        numbered when that exists already."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out, suffix = root / f"{path_name(model)}-{stamp}", 1
        while out.exists():
            suffix += 1
            out = root / f"{path_name(model)}-{stamp}-{suffix}"
        return out

    def discard(self) -> None:
        """Remove every file of the run folder, its own and its plugins' (it never holds anyone
        else's: :meth:`create` takes only an empty folder), and the folder if that leaves it
        empty."""
        for path in self.directory.iterdir():
            if path.is_file() or path.is_symlink():
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
        return cls(directory, model, Recipe.from_file(directory / RECIPE_FILE), settings)
