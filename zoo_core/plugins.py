"""The plugin host: loads the ``zoo`` entry-point group, isolates plugins that fail, and fills
the registries (models, datasets, exporters) from what the rest registered.

Built-in plugins are entry points of the ``zoo`` distribution, the same door a third-party
package uses. In a source checkout that is not installed (``torch.hub.load(..., source="local")``)
the same entry points are read from the checkout's ``pyproject.toml``.

Services use the functions at the end of this module (the registries and the hook caller),
never the host's internals.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .entries import DatasetSpec, ExporterSpec, ModelSpec
from .errors import PluginError, PluginWarning
from .registry import PluginOrigin, Registry, registrar
from .version import __version__

ENTRY_POINT_GROUP = "zoo"
DISTRIBUTION = "zoo-core"
STRICT_ENV = "ZOO_STRICT_PLUGINS"
SOURCE_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@dataclass
class PluginInfo:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    module: str
    origin: PluginOrigin
    status: str = "ok"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    exporters: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.origin.distribution,
            "version": self.origin.version,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
            "models": self.models,
            "datasets": self.datasets,
            "exporters": self.exporters,
        }


def strict_plugins() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


class PluginHost:
    """A pluggy manager plus the core's record of each plugin: origin, hooks, models, failure."""

    def __init__(self, *, strict: bool | None = None) -> None:
        self.strict = strict_plugins() if strict is None else strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._registry: Registry[ModelSpec] | None = None
        self._datasets: Registry[DatasetSpec] | None = None
        self._exporters: Registry[ExporterSpec] | None = None

    def load_entry_points(self) -> None:
        """Import every plugin of the ``zoo`` group; one that raises is skipped and reported."""
        for entry_point, origin in discover_entry_points():
            if entry_point.name in self.infos:
                continue
            try:
                module = entry_point.load()
            except Exception as exc:
                self._record_failure(
                    PluginInfo(entry_point.name, entry_point.value, origin), exc, "failed to load"
                )
                continue
            self.register(module, entry_point.name, origin=origin)

    def register(
        self, plugin: ModuleType | object, name: str, *, origin: PluginOrigin | None = None
    ) -> PluginInfo:
        """Add a plugin object or module under ``name`` (tests and notebooks use this directly)."""
        module = getattr(plugin, "__name__", type(plugin).__name__)
        info = PluginInfo(name, module, origin or PluginOrigin(name))
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._record_failure(info, exc, "was rejected")
            return info
        unknown = [h.name for h in self.pm.get_hookcallers(plugin) or [] if h.spec is None]
        if unknown:
            self.pm.unregister(plugin)
            known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("zoo_")))
            self._record_failure(
                info,
                PluginError(f"unknown hook {', '.join(unknown)}; known hooks: {known}"),
                "was rejected",
            )
            return info
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self.infos[name] = info
        self._registry = self._datasets = self._exporters = None
        return info

    def unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.infos.pop(name, None)
        self._registry = self._datasets = self._exporters = None

    @property
    def registry(self) -> Registry[ModelSpec]:
        """The model registry, built on first use from every loaded plugin's registrations."""
        if self._registry is None:
            registry = Registry[ModelSpec]("model", hint="Run `zoo list` to see every registered model.")
            self._registry = self._collect("zoo_register_models", ModelSpec, registry, "models")
        return self._registry

    @property
    def datasets(self) -> Registry[DatasetSpec]:
        """The datasets that plugins registered through the trainer hook."""
        if self._datasets is None:
            registry = Registry[DatasetSpec]("dataset")
            self._datasets = self._collect("zoo_register_datasets", DatasetSpec, registry, "datasets")
        return self._datasets

    @property
    def exporters(self) -> Registry[ExporterSpec]:
        """The export formats that plugins registered, the built-in ones included."""
        if self._exporters is None:
            registry = Registry[ExporterSpec]("exporter")
            self._exporters = self._collect("zoo_register_exporters", ExporterSpec, registry, "exporters")
        return self._exporters

    def _collect(self, hook: str, entry: type, registry: Registry, field: str) -> Registry:
        """Call every implementation of a registration hook with its plugin's own ``register``,
        keeping a plugin's entries only if its whole hook returns."""
        kind = registry.kind
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            info = self.infos[impl.plugin_name]
            staged: list = []
            try:
                impl.function(register=registrar(kind, entry, info.origin, staged))
            except Exception as exc:
                self._record_failure(info, exc, f"failed while registering {field}")
                continue
            for spec in staged:
                registry.add(spec)
            setattr(info, field, [spec.name for spec in staged])
        return registry

    def _record_failure(self, info: PluginInfo, exc: Exception, what: str) -> None:
        reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
        message = f"zoo plugin {info.origin} {what}: {reason}"
        if self.strict:
            raise PluginError(f"{message} ({STRICT_ENV} is set)") from exc
        info.status, info.error = "failed", reason
        info.models, info.datasets, info.exporters = [], [], []
        self.infos[info.name] = info
        if self.pm.get_plugin(info.name) is not None:
            self.pm.unregister(name=info.name)
        warnings.warn(f"{message}; it was skipped", PluginWarning, stacklevel=2)


def discover_entry_points() -> list[tuple[metadata.EntryPoint, PluginOrigin]]:
    """The ``zoo`` group's entry points, sorted by name, each with the distribution it came from.

    When the ``zoo`` distribution itself is not installed but this is a source checkout, its
    built-in entry points come from the checkout's ``pyproject.toml``.
    """
    found = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found.append((entry_point, PluginOrigin(entry_point.name, dist and dist.name, dist and dist.version)))
    if not any(origin.distribution == DISTRIBUTION for _, origin in found):
        found.extend(source_tree_entry_points(SOURCE_PYPROJECT))
    return sorted(found, key=lambda item: item[0].name)


def source_tree_entry_points(
    pyproject: Path,
) -> list[tuple[metadata.EntryPoint, PluginOrigin]]:
    """The ``zoo`` entry points that a checkout's ``pyproject.toml`` declares, if it is the zoo's."""
    if not pyproject.is_file():
        return []
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    if project.get("name") != DISTRIBUTION:
        return []
    table = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return [
        (
            metadata.EntryPoint(name, value, ENTRY_POINT_GROUP),
            PluginOrigin(name, f"{DISTRIBUTION} (source tree)", __version__),
        )
        for name, value in table.items()
    ]


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, loading entry points on first use."""
    global _host
    if _host is None:
        host = PluginHost()
        host.load_entry_points()
        _host = host
    return _host


def reset() -> None:
    """Forget loaded plugins, so the next lookup loads the entry points again."""
    global _host
    _host = None


def plugin_infos() -> list[PluginInfo]:
    """Every plugin, loaded or failed, with the models and datasets it registered."""
    host = get_host()
    host.registry, host.datasets, host.exporters  # noqa: B018 - registering fills in each plugin's lists
    return sorted(host.infos.values(), key=lambda info: info.name)


# -- what services use -----------------------------------------------------------------------
def model_registry() -> Registry[ModelSpec]:
    """Every registered architecture."""
    return get_host().registry


def dataset_registry() -> Registry[DatasetSpec]:
    """Every registered dataset."""
    return get_host().datasets


def exporter_registry() -> Registry[ExporterSpec]:
    """Every registered export format."""
    return get_host().exporters


def hooks() -> pluggy.HookRelay:
    """The hook caller: ``hooks().zoo_train_end(run=..., report=...)`` calls every plugin's
    implementation (keyword arguments only, as pluggy requires)."""
    return get_host().pm.hook


def notify(hook: str, **kwargs: Any) -> None:
    """Call every plugin's implementation of the notification ``hook`` (the trainer's
    ``zoo_train_*``) one by one, so that one that raises costs only itself: it is warned about
    once per process and called again next time, and the others and the training go on."""
    caller = getattr(get_host().pm.hook, hook)
    for impl in reversed(caller.get_hookimpls()):  # pluggy's own order: last registered first
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as exc:
            key = (hook, impl.plugin_name)
            if key not in _WARNED:
                _WARNED.add(key)
                warnings.warn(
                    f"zoo plugin {impl.plugin_name} failed in {hook} ({type(exc).__name__}: {exc}); "
                    "training goes on without it",
                    PluginWarning,
                    stacklevel=2,
                )


_WARNED: set[tuple[str, str]] = set()
