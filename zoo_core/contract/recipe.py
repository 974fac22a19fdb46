"""A training recipe as plain, validated data: what to train on and how.

The defaults are the lesson's recipe (80/20 split, batch 256, Adam lr 1e-3 with weight decay
1e-4, up to 50 epochs, early stopping after 10 epochs without a better validation loss), so
``Recipe(name="lesson", dataset="fashion_mnist")`` is that recipe and a plugin states only what
differs. The dataset has no default: the core knows no dataset, the model plugins name theirs.

The optimizer, schedule, loss, augmentations, weight averager and trainer are names of parts
that plugins register; a recipe is checked against them when it is used
(:func:`zoo_core.host.training_parts.resolve_parts`), not when it is made, so that a plugin can
declare its recipes while the plugins are still loading. ``options`` holds the settings those
parts declare (``ema_decay``, ``distill_teacher``...).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.checks import is_int, is_number
from ..base.errors import ZooError, did_you_mean

OPTION_VALUE_TYPES = (bool, int, float, str)


class RecipeError(ZooError, ValueError):
    """A recipe value out of range, an unknown name, or an unknown field."""


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How a model is trained; every field is JSON-serialisable and checked on creation.
    ``dataset`` names a registered dataset (``zoo plugins`` lists them)."""

    name: str = "lesson"
    dataset: str
    input_size: tuple[int, int] = (28, 28)
    batch_size: int = 256
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    nesterov: bool = False
    schedule: str = "constant"
    epochs: int = 50
    patience: int | None = 10
    val_fraction: float = 0.2
    label_smoothing: float = 0.0
    augment: tuple[str, ...] = field(default_factory=tuple)
    tta: bool = False
    seed: int = 0
    freeze_features: bool = False
    lr_features: float = 1.0
    loss: str = "cross_entropy"
    averager: str | None = None
    trainer: str = "default"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        if not isinstance(self.dataset, str) or not self.dataset:
            fail("dataset must be a non-empty name such as 'fashion_mnist'")
        if len(self.input_size) != 2 or not all(is_int(v) and v > 0 for v in self.input_size):
            fail(f"input_size must be two positive integers (height, width), got {self.input_size}")
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
        for key in ("optimizer", "schedule", "loss", "trainer"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                fail(f"{key} must be the name of a registered {key} (`zoo plugins` lists them)")
        if self.averager is not None and (not isinstance(self.averager, str) or not self.averager):
            fail("averager must be the name of a registered averager, such as 'ema', or null")
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
        for key in ("momentum", "val_fraction", "label_smoothing"):
            value = getattr(self, key)
            if not is_number(value) or not 0 <= value < 1:
                fail(f"{key} must be a number in [0, 1), got {value!r}")
        if not all(isinstance(v, bool) for v in (self.nesterov, self.tta, self.freeze_features)):
            fail("nesterov, tta and freeze_features must be true or false")
        if not is_number(self.lr_features) or self.lr_features < 0:
            fail(f"lr_features (the features' share of lr) must be a number >= 0, got {self.lr_features!r}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            fail("nesterov needs optimizer 'sgd' with a momentum > 0")

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed, checked like a new recipe."""
        _check_keys(changes, self.name)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["input_size"] = list(self.input_size)
        data["augment"] = list(self.augment)
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        name = str(data.get("name", "?"))
        _check_keys(data, name)
        if "dataset" not in data:
            raise RecipeError(f"recipe {name!r}: no dataset; name one, such as 'fashion_mnist'")
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


def _check_keys(data: dict[str, Any], name: str) -> None:
    for key in data:
        if key not in FIELDS:
            raise RecipeError(
                f"recipe {name!r}: unknown field {key!r}.{did_you_mean(key, FIELDS)}"
                f" Fields: {', '.join(FIELDS)}"
            )
