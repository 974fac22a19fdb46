"""A training recipe as plain, validated data: what to train on and how.

The defaults are the lesson's recipe (80/20 split, batch 256, lr 1e-3 with weight decay 1e-4,
up to 50 epochs, early stopping after 10 epochs without a better validation loss), so a plugin
states only what differs. The dataset has no default in the core, which knows no dataset: the
model plugins name theirs. A recipe written for zoo 0.1 without one gets the dataset a plugin
declares the default (``register(..., default=True)``) when its model registers, with a warning.

The optimizer, schedule, loss, augmentations, weight averager and trainer are names of parts
that plugins register; a recipe that names no optimizer, schedule, loss or trainer gets the one
its plugin declares the default. A recipe is checked against them when it is used
(:func:`zoo_core.host.training_parts.resolve_parts`), not when it is made, so that a plugin can
declare its recipes while the plugins are still loading. ``options`` holds the settings those
parts declare; a part's settings are its options, never recipe fields.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from ..base.checks import is_int, is_number
from ..base.errors import ZooError, did_you_mean

OPTION_VALUE_TYPES = (bool, int, float, str)
BEST_BY = ("val_loss", "val_accuracy")  # lower loss, or higher accuracy, on the validation split


class RecipeError(ZooError, ValueError):
    """A recipe value out of range, an unknown name, or an unknown field."""


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How a model is trained; every field is JSON-serialisable and checked on creation.
    ``dataset`` names a registered dataset (``zoo plugins`` lists them)."""

    name: str = "lesson"
    dataset: str | None = None  # None only from zoo 0.1 plugins: the registry fills in the default
    input_size: tuple[int, int] = (28, 28)
    batch_size: int = 256
    optimizer: str | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str | None = None
    epochs: int = 50
    patience: int | None = 10
    best_by: str = "val_loss"  # which epoch's weights are best, and what early stopping watches
    val_fraction: float = 0.2
    augment: tuple[str, ...] = field(default_factory=tuple)
    tta: bool = False
    seed: int = 0
    freeze_features: bool = False
    lr_features: float = 1.0
    loss: str | None = None
    averager: str | None = None
    trainer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # zoo 0.1's recipe fields, now options of the parts that read them: accepted with a warning
    momentum: InitVar[float | None] = None
    nesterov: InitVar[bool | None] = None
    label_smoothing: InitVar[float | None] = None

    def __post_init__(
        self, momentum: float | None, nesterov: bool | None, label_smoothing: float | None
    ) -> None:
        if self.dataset is None:
            warnings.warn(
                f"recipe {self.name!r} names no dataset, which is deprecated since zoo 0.2; the dataset "
                "that plugins declare the default is used: write Recipe(dataset=NAME, ...)",
                DeprecationWarning,
                stacklevel=3,
            )
        old = {"momentum": momentum, "nesterov": nesterov, "label_smoothing": label_smoothing}
        moved = {k: v for k, v in old.items() if v is not None}
        if moved:
            kept = _moved_options(self.name, moved, stacklevel=4)
            if isinstance(self.options, dict):
                object.__setattr__(self, "options", {**kept, **self.options})
        object.__setattr__(self, "input_size", tuple(self.input_size))
        object.__setattr__(self, "augment", tuple(self.augment))
        if isinstance(self.options, dict):
            object.__setattr__(self, "options", dict(sorted(self.options.items())))
        self._check()

    def __hash__(self) -> int:
        """Recipes stay hashable (as frozen dataclasses are) although ``options`` is a dict."""
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def _check(self) -> None:
        def fail(what: str) -> None:
            raise RecipeError(f"recipe {self.name!r}: {what}")

        if not isinstance(self.name, str) or not self.name:
            fail("name must be a non-empty string")
        if self.dataset is not None and (not isinstance(self.dataset, str) or not self.dataset):
            fail("dataset must be the non-empty name of a registered dataset (`zoo plugins` lists them)")
        if len(self.input_size) != 2 or not all(is_int(v) and v > 0 for v in self.input_size):
            fail(f"input_size must be two positive integers (height, width), got {self.input_size}")
        if self.best_by not in BEST_BY:
            fail(f"best_by must be one of {', '.join(BEST_BY)}, got {self.best_by!r}")
        if not is_int(self.epochs) or self.epochs < 1:
            fail(f"epochs must be a positive integer, got {self.epochs!r}")
        if not is_int(self.batch_size) or self.batch_size < 2:
            fail(
                f"batch_size must be an integer of at least 2 (batch norm needs two images), "
                f"got {self.batch_size!r}"
            )
        if self.patience is not None and (not is_int(self.patience) or self.patience < 1):
            fail(f"patience must be a positive integer or null (no early stopping), got {self.patience!r}")
        if not is_int(self.seed):
            fail(f"seed must be an integer, got {self.seed!r}")
        for key in ("optimizer", "schedule", "loss", "trainer", "averager"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                fail(f"{key} must be the name of a registered {key} (`zoo plugins` lists them), or null")
        names_ok = all(isinstance(a, str) and a for a in self.augment)
        if not names_ok or len(set(self.augment)) != len(self.augment):
            fail(f"augment must list registered augmentations, each once, got {list(self.augment)!r}")
        if not isinstance(self.options, dict) or not all(
            isinstance(k, str) and isinstance(v, OPTION_VALUE_TYPES) for k, v in self.options.items()
        ):
            fail(f"options must map option names to true/false, numbers or strings, got {self.options!r}")
        if not is_number(self.lr) or self.lr <= 0:
            fail(f"lr must be a positive number, got {self.lr!r}")
        if not is_number(self.weight_decay) or self.weight_decay < 0:
            fail(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if not is_number(self.val_fraction) or not 0 <= self.val_fraction < 1:
            fail(f"val_fraction must be a number in [0, 1), got {self.val_fraction!r}")
        if not all(isinstance(v, bool) for v in (self.tta, self.freeze_features)):
            fail("tta and freeze_features must be true or false")
        if not is_number(self.lr_features) or self.lr_features < 0:
            fail(f"lr_features (the features' share of lr) must be a number >= 0, got {self.lr_features!r}")

    def per_process_batch(self, processes: int) -> int:
        """Each process's share of ``batch_size`` when ``processes`` train together, or a
        ``RecipeError`` when it does not split into batches of at least 2."""
        if self.batch_size % processes or self.batch_size < 2 * processes:
            raise RecipeError(
                f"batch size {self.batch_size} does not split over {processes} processes into batches "
                "of at least 2; use a multiple of the process count, at least twice it"
            )
        return self.batch_size // processes

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed, checked like a new recipe (zoo 0.1's fields that are
        options now are moved there, with a warning)."""
        _check_keys({k: v for k, v in changes.items() if k not in OLD_FIELDS}, self.name)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["input_size"] = list(self.input_size)
        data["augment"] = list(self.augment)
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, warn: bool = True) -> Recipe:
        """A recipe from its :meth:`to_dict` form. zoo 0.1's ``momentum``, ``nesterov`` and
        ``label_smoothing`` fields become options when they differ from 0.1's defaults, with
        a warning unless ``warn`` is False (weights files record the recipe they were trained
        with: a record, not a user's choice)."""
        name = str(data.get("name", "?"))
        data = dict(data)
        moved = {k: data.pop(k) for k in OLD_FIELDS if k in data}
        _check_keys(data, name)
        if "dataset" not in data:
            raise RecipeError(
                f"recipe {name!r}: no dataset; name a registered dataset (`zoo plugins` lists them)"
            )
        kept = _moved_options(name, moved, stacklevel=3) if moved and warn else _kept(moved)
        if kept and isinstance(data.get("options", {}), dict):
            data["options"] = {**kept, **data.get("options", {})}
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> Recipe:
        """Read a recipe written by :meth:`to_dict` as JSON (``recipe.json`` in a run directory)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RecipeError(f"cannot read recipe file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise RecipeError(f"recipe file {path} must hold a JSON object of recipe fields")
        return cls.from_dict(data)


FIELDS = tuple(f.name for f in dataclasses.fields(Recipe))
# zoo 0.1's fields that became part options, with their 0.1 defaults (a default is dropped).
OLD_FIELDS: dict[str, Any] = {"momentum": 0.9, "nesterov": False, "label_smoothing": 0.0}


def _kept(moved: dict[str, Any]) -> dict[str, Any]:
    """The old fields that say something: those that differ from zoo 0.1's defaults."""
    return {k: v for k, v in moved.items() if v != OLD_FIELDS[k]}


def _moved_options(name: str, moved: dict[str, Any], *, stacklevel: int) -> dict[str, Any]:
    """Old recipe fields as options, with a warning saying what to write instead."""
    kept = _kept(moved)
    warnings.warn(
        f"recipe {name!r}: {', '.join(moved)} are options of the parts that read them since zoo 0.2; "
        + (f"write options={kept!r} instead" if kept else "drop them (they hold zoo 0.1's defaults)"),
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return kept


def _check_keys(data: dict[str, Any], name: str) -> None:
    for key in data:
        if key not in FIELDS:
            raise RecipeError(
                f"recipe {name!r}: unknown field {key!r}.{did_you_mean(key, FIELDS)}"
                f" Fields: {', '.join(FIELDS)}"
            )
