"""One registry for every kind of entry plugins register (models, datasets, exporters, training
parts): one name rule, one lazy ``"module:function"`` loader, one error style, and the
``register`` callbacks that stage a plugin's entries until its whole hook has returned.

Kept apart from building, so listing a model never imports torch.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ..base.checks import MODEL_RULE, NAME_RULE, NAMESPACE, is_model_name, is_name
from ..base.errors import PluginError, UnknownModelError, did_you_mean


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


class InvalidEntry(ValueError):
    """A registration that breaks a rule; the registrar names the plugin and the entry."""


def require(condition: bool, what: str) -> None:
    """Refuse a registration unless ``condition`` holds; ``what`` says what would be right."""
    if not condition:
        raise InvalidEntry(what)


def is_reference(value: Any) -> bool:
    """True for a ``"module:function"`` string, the lazy form of a callable."""
    return isinstance(value, str) and ":" in value


def load_object(target: Callable[..., Any] | str, owner: str) -> Any:
    """``target`` itself, or the object a ``"module:attribute"`` reference names, imported now;
    a failure names ``owner`` (what needed it) and the reference."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{owner}: cannot load {target!r}: {exc}") from exc


class Registered(Protocol):
    name: str
    origin: PluginOrigin


T = TypeVar("T", bound=Registered)


class Registry(Generic[T]):
    """Registered entries of one kind by name; registering a name twice is an error naming both
    plugins. ``names`` filters with shell wildcards, as ``timm.list_models`` does."""

    def __init__(self, kind: str, *, plural: str | None = None, hint: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.hint = hint
        self._entries: dict[str, T] = {}
        self._namespaces: dict[str, PluginOrigin] = {}  # each owned by the first plugin to use it

    def add(self, entry: T) -> None:
        if entry.name in self._entries:
            first = self._entries[entry.name].origin
            raise PluginError(
                f"{self.kind} {entry.name!r} is registered by both plugin {first} and plugin "
                f"{entry.origin}; uninstall or disable one of them"
            )
        if NAMESPACE in entry.name:
            namespace = entry.name.split(NAMESPACE)[0]
            owner = self._namespaces.setdefault(namespace, entry.origin)
            if owner.plugin != entry.origin.plugin:
                raise PluginError(
                    f"plugin {entry.origin} registered {self.kind} {entry.name!r}, but the namespace "
                    f"{namespace!r} belongs to plugin {owner}; uninstall or disable one of them"
                )
        self._entries[entry.name] = entry

    def namespaces(self) -> dict[str, PluginOrigin]:
        """Each namespace and the plugin that owns it."""
        return dict(sorted(self._namespaces.items()))

    def replace(self, entry: T) -> None:
        """Put ``entry`` in the place of the one of its name (the host settling a default)."""
        self._entries[entry.name] = entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._entries)
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
        return names

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            hint = self.hint or f"Registered {self.plural}: {', '.join(self.names()) or 'none'}."
            raise UnknownModelError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self._entries)} {hint}"
            ) from None

    def __iter__(self) -> Iterator[T]:
        return (self._entries[n] for n in sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


class Entry(Registered, Protocol):
    protocol: type  # the contract's ``register`` signature for this kind of entry
    namespaced: bool  # whether its names may carry a plugin's namespace (models: timm/resnet50)

    @classmethod
    def make(cls, origin: PluginOrigin, args: dict[str, Any]) -> Entry: ...


E = TypeVar("E", bound=Entry)


def registrar(kind: str, entry: type[E], origin: PluginOrigin, staged: list[E]) -> Callable[..., None]:
    """The ``register`` callback handed to one plugin's registration hook for one kind.

    It takes exactly the arguments of ``entry.protocol`` (the contract's typed callback), binds
    a call to them, applies the name rule and the callable-or-reference rule that every kind
    shares, and stages ``entry.make(origin, arguments)``, which raises :class:`InvalidEntry` for
    a value it refuses. Entries are staged, so a plugin that fails half-way registers nothing.
    """
    parameters = list(inspect.signature(entry.protocol.__call__).parameters.values())[1:]  # no self
    public = inspect.Signature(parameters)
    target_name = parameters[1].name

    def register(*args: Any, **kwargs: Any) -> None:
        name = args[0] if args else kwargs.get("name")

        def refused(what: object) -> PluginError:
            return PluginError(f"plugin {origin} registered {kind} {name!r}: {what}")

        try:
            bound = public.bind(*args, **kwargs)
        except TypeError as exc:
            raise refused(exc) from None
        bound.apply_defaults()
        if not (is_model_name(name) if entry.namespaced else is_name(name)):
            raise refused(f"a {kind} name must be {MODEL_RULE if entry.namespaced else NAME_RULE}")
        if not callable(bound.arguments[target_name]) and not is_reference(bound.arguments[target_name]):
            raise refused(f"{target_name} must be a callable or a 'module:function' string")
        if any(e.name == name for e in staged):
            raise refused("registered twice by the same plugin")
        try:
            staged.append(entry.make(origin, dict(bound.arguments)))
        except InvalidEntry as exc:
            raise refused(exc) from None

    register.__signature__ = public  # type: ignore[attr-defined]
    return register
