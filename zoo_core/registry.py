"""The model registry: what each plugin registered, looked up by name or wildcard, kept apart
from building, so listing a model never imports torch."""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .errors import BuilderArgumentError, PluginError, UnknownModelError, did_you_mean
from .manifest import WeightsSpec
from .recipe import Recipe, RecipeError

if TYPE_CHECKING:
    import torch

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

Builder = Callable[..., "torch.nn.Module"]


@dataclass(frozen=True)
class PluginOrigin:
    """Where a registration came from: the plugin and the distribution that installed it."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution is None:
            return self.plugin
        return f"{self.plugin} ({self.distribution} {self.version or '?'})"


@dataclass(frozen=True)
class ModelSpec:
    """One registered architecture: how to build it, its default configuration and recipes.

    ``params`` is the parameter count at the default configuration, declared so that listing
    needs no torch; a test builds every model and checks it. ``recipe`` is the default training
    recipe; ``recipes`` are alternatives a user picks by name.
    """

    name: str
    builder: Builder | str
    params: int
    recipe: Recipe
    description: str
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    origin: PluginOrigin
    tags: tuple[str, ...] = field(default_factory=tuple)
    recipes: tuple[Recipe, ...] = field(default_factory=tuple)
    weights: tuple[WeightsSpec, ...] = field(default_factory=tuple)

    def find_recipe(self, name: str | None = None) -> Recipe:
        """The recipe called ``name`` (the default recipe when None)."""
        if name is None:
            return self.recipe
        known = {r.name: r for r in (self.recipe, *self.recipes)}
        if name not in known:
            raise RecipeError(
                f"{self.name} has no recipe {name!r}; its recipes: {', '.join(known)} "
                "(or give a recipe .json file)"
            )
        return known[name]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The default input as (channels, height, width)."""
        return (self.in_channels, *self.input_size)

    def load_builder(self) -> Builder:
        """The builder callable, importing it first when it was registered as 'module:function'."""
        if callable(self.builder):
            return self.builder
        return import_object(self.builder, f"model {self.name!r} from plugin {self.origin}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": self.params,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "input_size": list(self.input_size),
            "tags": list(self.tags),
            "plugin": self.origin.plugin,
            "distribution": self.origin.distribution,
            "version": self.origin.version,
            "recipe": self.recipe.to_dict(),
            "recipes": [r.name for r in (self.recipe, *self.recipes)],
            "weights": [w.to_dict() for w in self.weights],
        }


class Registered(Protocol):
    name: str
    origin: PluginOrigin


T = TypeVar("T", bound=Registered)


class Registry(Generic[T]):
    """Registered entries of one kind (models, datasets, exporters) by name; registering a name
    twice is an error naming both plugins."""

    def __init__(self, kind: str = "model", *, hint: str | None = None) -> None:
        self.kind = kind
        self.hint = hint
        self._specs: dict[str, T] = {}

    def add(self, spec: T) -> None:
        if spec.name in self._specs:
            first = self._specs[spec.name].origin
            raise PluginError(
                f"{self.kind} {spec.name!r} is registered by both plugin {first} and plugin "
                f"{spec.origin}; uninstall or disable one of them"
            )
        self._specs[spec.name] = spec

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._specs)
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
        return names

    def get(self, name: str) -> T:
        try:
            return self._specs[name]
        except KeyError:
            hint = self.hint or f"Registered {self.kind}s: {', '.join(self.names()) or 'none'}."
            raise UnknownModelError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self._specs)} {hint}"
            ) from None

    def __iter__(self) -> Iterator[T]:
        return (self._specs[n] for n in sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)


def model_registrar(origin: PluginOrigin, staged: list[ModelSpec]) -> Callable[..., None]:
    """The ``register`` callback handed to one plugin's ``zoo_register_models``: it validates each
    entry and stages it, so a plugin that fails half-way registers nothing."""

    def register(
        name: str,
        builder: Builder | str,
        *,
        params: int,
        recipe: Recipe,
        description: str,
        num_classes: int = 1000,
        in_channels: int = 3,
        input_size: tuple[int, int] = (224, 224),
        tags: tuple[str, ...] | list[str] = (),
        recipes: tuple[Recipe, ...] | list[Recipe] = (),
        weights: tuple[WeightsSpec, ...] | list[WeightsSpec] = (),
    ) -> None:
        def fail(what: str) -> None:
            raise PluginError(f"plugin {origin} registered model {name!r}: {what}")

        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            fail("a model name must be lowercase letters, digits and underscores, starting with a letter")
        if not callable(builder) and not (isinstance(builder, str) and ":" in builder):
            fail("builder must be a callable or a 'module:function' string")
        if not all(isinstance(r, Recipe) for r in (recipe, *recipes)):
            fail("recipe and recipes must be zoo_core.Recipe objects")
        names = [r.name for r in (recipe, *recipes)]
        if len(set(names)) != len(names):
            fail(f"recipe names must differ, got {', '.join(names)}")
        for key, value in (("params", params), ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(f"{key} must be a positive integer, got {value!r}")
        size = tuple(input_size)
        if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            fail(f"input_size must be (height, width) in pixels, got {input_size!r}")
        if not isinstance(description, str) or not description.strip():
            fail("description must be a non-empty string")
        if not all(isinstance(w, WeightsSpec) and w.model == name for w in weights):
            fail("weights must be zoo_core.manifest.WeightsSpec entries of this model")
        if len({w.tag for w in weights}) != len(weights):
            fail("two weights entries share a tag")
        if any(spec.name == name for spec in staged):
            fail("registered twice by the same plugin")
        staged.append(
            ModelSpec(
                name=name,
                builder=builder,
                params=params,
                recipe=recipe,
                description=description.strip(),
                num_classes=num_classes,
                in_channels=in_channels,
                input_size=size,  # type: ignore[arg-type]
                origin=origin,
                tags=tuple(tags),
                recipes=tuple(recipes),
                weights=tuple(weights),
            )
        )

    return register


def import_object(reference: str, owner: str) -> Any:
    """Import ``'module:attribute'``; a failure names ``owner`` and the reference."""
    module_name, _, attr = reference.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{owner}: cannot load {reference!r}: {exc}") from exc


def list_models(pattern: str | None = None) -> list[str]:
    """Every registered model name, sorted; ``pattern`` filters with shell wildcards ('res*')."""
    from .plugins import get_registry

    return get_registry().names(pattern)


def get_model_spec(name: str) -> ModelSpec:
    """The registration of ``name``: builder, description, default input, recipe, plugin."""
    from .plugins import get_registry

    return get_registry().get(name)


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    weights: bool | str | Path | None = None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    """Build model ``name``, freshly initialised or with trained ``weights``.

    ``weights``: None or False for none, True for the model's first weights tag, a tag such as
    ``"fashion_mnist"``, or a ``.safetensors`` file. ``num_classes`` and ``in_channels`` default
    to the weights' (or the registered configuration); asking for others re-initialises the
    classifier (with a warning) or adapts the first convolution, as timm does. Any other keyword
    goes to the builder, which must accept it.
    """
    spec = get_model_spec(name)
    if weights is not None and weights is not False:
        from .weights import create_pretrained

        return create_pretrained(
            spec, weights, num_classes=num_classes, in_channels=in_channels, **builder_kwargs
        )
    return build(spec, num_classes=num_classes, in_channels=in_channels, **builder_kwargs)


def build(
    spec: ModelSpec, *, num_classes: int | None, in_channels: int | None, **builder_kwargs: Any
) -> torch.nn.Module:
    """Call ``spec``'s builder after checking the arguments against its signature."""
    name = spec.name
    kwargs = {
        "num_classes": spec.num_classes if num_classes is None else num_classes,
        "in_channels": spec.in_channels if in_channels is None else in_channels,
        **builder_kwargs,
    }
    for key in ("num_classes", "in_channels"):
        value = kwargs[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BuilderArgumentError(f"{name}: {key} must be a positive integer, got {value!r}")
    builder = spec.load_builder()
    accepted = builder_arguments(builder)
    if accepted is not None:
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise BuilderArgumentError(
                f"{name} does not accept {', '.join(repr(k) for k in unknown)}; "
                f"it accepts: {', '.join(accepted)}"
            )
    return builder(**kwargs)


def builder_arguments(builder: Builder) -> list[str] | None:
    """The keyword arguments a builder takes, or None when it takes any (``**kwargs``)."""
    import inspect  # here, not at the top: listing models must stay fast

    params = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY]
