"""A recipe's training parts, looked up in what plugins registered: its optimizer, schedule,
loss, augmentations, weight averager and trainer, each with its options checked and defaults
filled in; a kind the recipe leaves out is the part its plugin declared the default. Done when
a recipe is used (``get_recipe``, the start of a run), so that an unknown
name or a bad option is one line before any data is loaded. Imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base.errors import UnknownModelError, did_you_mean
from ..contract.recipe import Recipe, RecipeError
from .entries import (
    AugmentationSpec,
    AveragerSpec,
    LossSpec,
    OptimizerSpec,
    PartSpec,
    ScheduleSpec,
    TrainerSpec,
)
from .plugins import part_registry


@dataclass(frozen=True)
class Part:
    """One registered part as a recipe uses it: its entry and its options' values."""

    spec: PartSpec
    options: dict[str, Any]

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """Call the part's factory with its options."""
        return self.spec.load()(*args, options=self.options, **kwargs)


@dataclass(frozen=True)
class RecipeParts:
    """Every part a recipe names, ready to build."""

    optimizer: Part
    schedule: Part
    loss: Part
    augmentations: tuple[Part, ...]
    averager: Part | None
    trainer: Part


def resolve_parts(recipe: Recipe) -> RecipeParts:
    """The parts ``recipe`` names, or a ``RecipeError`` naming the unknown part (with the
    registered ones and the closest) or the option that no part takes or that is out of range."""
    optimizer = _lookup(recipe, OptimizerSpec, recipe.optimizer)
    schedule = _lookup(recipe, ScheduleSpec, recipe.schedule)
    loss = _lookup(recipe, LossSpec, recipe.loss)
    augmentations = [_lookup(recipe, AugmentationSpec, name) for name in recipe.augment]
    averager = _lookup(recipe, AveragerSpec, recipe.averager) if recipe.averager else None
    trainer = _lookup(recipe, TrainerSpec, recipe.trainer)
    flat = [optimizer, schedule, loss, *augmentations, *([averager] if averager else []), trainer]
    owners: dict[str, PartSpec] = {}
    for spec in flat:
        for option in spec.options:
            other = owners.setdefault(option.name, spec)
            if other is not spec:
                raise RecipeError(
                    f"recipe {recipe.name!r}: option {option.name!r} is taken by both {other.kind} "
                    f"{other.name!r} (plugin {other.origin}) and {spec.kind} {spec.name!r} (plugin "
                    f"{spec.origin}); these two parts cannot be used together"
                )
    for key in recipe.options:
        if key not in owners:
            parts = ", ".join(f"{s.kind} {s.name}" for s in flat)
            raise RecipeError(
                f"recipe {recipe.name!r}: no part of the recipe takes option {key!r}."
                f"{did_you_mean(key, owners)} Its parts ({parts}) take: "
                f"{', '.join(sorted(owners)) or 'no options'}"
            )

    def part(spec: PartSpec) -> Part:
        values = {}
        for option in spec.options:
            try:
                values[option.name] = option.check(recipe.options.get(option.name, option.default))
            except ValueError as exc:
                raise RecipeError(f"recipe {recipe.name!r}: {spec.kind} {spec.name!r}: {exc}") from None
        return Part(spec, values)

    return RecipeParts(
        optimizer=part(optimizer),
        schedule=part(schedule),
        loss=part(loss),
        augmentations=tuple(part(s) for s in augmentations),
        averager=part(averager) if averager else None,
        trainer=part(trainer),
    )


def with_defaults(recipe: Recipe) -> Recipe:
    """``recipe`` with the default part named for every kind it leaves out, so that a run's
    ``recipe.json`` and a weights card say which parts trained it."""
    parts = resolve_parts(recipe)
    names = {
        key: getattr(parts, key).spec.name
        for key in ("optimizer", "schedule", "loss", "trainer")
        if getattr(recipe, key) is None
    }
    return recipe.replace(**names) if names else recipe


def tests_mirrored(recipe: Recipe) -> bool:
    """Whether ``recipe``'s test-time augmentation (the average of each image's and its mirror
    image's logits) applies: asked for (``tta``) and trained for, by an augmentation that
    mirrors images. A network never shown a mirrored image is not tested on one."""
    if not recipe.tta:
        return False
    registry = part_registry(AugmentationSpec)
    return any(name in registry.names() and registry.get(name).mirrors for name in recipe.augment)


def mirrors_help(recipe: Recipe, metrics: Mapping[str, float]) -> bool:
    """Whether weights trained under ``recipe`` are best used with the mirrored pass averaged
    in: the recipe tests mirrored images (:func:`tests_mirrored`) and, where the run measured
    both passes on its validation split (``val_accuracy``, ``val_accuracy_tta`` in ``metrics``),
    the average did better there. Decided on validation, never on the test split."""
    if not tests_mirrored(recipe):
        return False
    if "val_accuracy_tta" in metrics and "val_accuracy" in metrics:
        return metrics["val_accuracy_tta"] > metrics["val_accuracy"]
    return True


def default_part(kind: type[PartSpec]) -> PartSpec | None:
    """The part of ``kind`` its plugin declared the default, if one did."""
    defaults = [spec for spec in part_registry(kind) if spec.default]
    if len(defaults) > 1:
        raise RecipeError(
            f"{len(defaults)} {kind.plural} are declared the default: "
            + ", ".join(f"{s.name} (plugin {s.origin})" for s in defaults)
            + "; name one in the recipe, or uninstall one of the plugins"
        )
    return defaults[0] if defaults else None


def _lookup(recipe: Recipe, kind: type[PartSpec], name: str | None) -> PartSpec:
    if name is None:
        default = default_part(kind)
        if default is None:
            raise RecipeError(
                f"recipe {recipe.name!r} names no {kind.kind} and no plugin declares a default one; "
                f"name a registered {kind.kind} (`zoo plugins` lists them)"
            )
        return default
    try:
        return part_registry(kind).get(name)
    except UnknownModelError as exc:
        raise RecipeError(f"recipe {recipe.name!r}: {exc} (`zoo plugins` shows who registers what)") from None
