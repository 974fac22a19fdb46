"""The model registry: what each plugin registered, looked up by name or wildcard, kept apart
from building, so listing a model never imports torch."""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import BuilderArgumentError, PluginError, UnknownModelError, did_you_mean
from .recipe import Recipe

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
    """One registered architecture: how to build it, its default configuration and recipe.

    ``params`` is the parameter count at the default configuration, declared so that listing
    needs no torch; a test builds every model and checks it.
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

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The default input as (channels, height, width)."""
        return (self.in_channels, *self.input_size)

    def load_builder(self) -> Builder:
        """The builder callable, importing it first when it was registered as 'module:function'."""
        if callable(self.builder):
            return self.builder
        module_name, _, attr = self.builder.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise PluginError(
                f"model {self.name!r} from plugin {self.origin}: cannot load builder {self.builder!r}: {exc}"
            ) from exc

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
        }


class Registry:
    """Model specs by name; adding a name twice is an error naming both plugins."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def add(self, spec: ModelSpec) -> None:
        if spec.name in self._specs:
            first = self._specs[spec.name].origin
            raise PluginError(
                f"model {spec.name!r} is registered by both plugin {first} and plugin "
                f"{spec.origin}; uninstall or disable one of them"
            )
        self._specs[spec.name] = spec

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._specs)
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
        return names

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(
                f"unknown model {name!r}.{did_you_mean(name, self._specs)}"
                " Run `zoo list` to see every registered model."
            ) from None

    def __iter__(self) -> Iterator[ModelSpec]:
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
    ) -> None:
        def fail(what: str) -> None:
            raise PluginError(f"plugin {origin} registered model {name!r}: {what}")

        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            fail("a model name must be lowercase letters, digits and underscores, starting with a letter")
        if not callable(builder) and not (isinstance(builder, str) and ":" in builder):
            fail("builder must be a callable or a 'module:function' string")
        if not isinstance(recipe, Recipe):
            fail(f"recipe must be a zoo_core.Recipe, got {type(recipe).__name__}")
        for key, value in (("params", params), ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(f"{key} must be a positive integer, got {value!r}")
        size = tuple(input_size)
        if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            fail(f"input_size must be (height, width) in pixels, got {input_size!r}")
        if not isinstance(description, str) or not description.strip():
            fail("description must be a non-empty string")
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
            )
        )

    return register


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
    **builder_kwargs: Any,
) -> torch.nn.Module:
    """Build model ``name`` with freshly initialised weights.

    ``num_classes`` and ``in_channels`` default to the model's registered configuration; any other
    keyword goes to the builder, which must accept it.
    """
    spec = get_model_spec(name)
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
    params = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY]
