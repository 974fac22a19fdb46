"""The plugin host: loads the ``zoo`` entry-point group, isolates plugins that fail, and fills
the registries (models, datasets, exporters, training parts) from what the rest registered.

Built-in plugins are entry points of the ``zoo`` distribution, the same door a third-party
package uses. In a source checkout that is not installed (``torch.hub.load(..., source="local")``)
the same entry points are read from the checkout's ``pyproject.toml``.

Services use the functions at the end of this module (the registries and the hook caller),
never the host's internals.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata as metadata
import importlib.util
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from ..base.errors import PluginError, PluginWarning
from ..base.version import __version__
from ..contract import hookspecs
from .entries import PART_KINDS, DatasetSpec, ExporterSpec, LoggerSpec, ModelSpec, PartSpec
from .registry import PluginOrigin, Registry, registrar

ENTRY_POINT_GROUP = "zoo"
DISTRIBUTION = "zoo-core"
STRICT_ENV = "ZOO_STRICT_PLUGINS"
SOURCE_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@dataclass
class PluginInfo:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    module: str
    origin: PluginOrigin
    status: str = "ok"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)  # kind (plural): names

    @property
    def models(self) -> list[str]:
        return self.registered.get("models", [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.origin.distribution,
            "version": self.origin.version,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
            **{plural: self.registered.get(plural, []) for plural in KINDS},
        }


# What plugins register, in the order `zoo plugins` shows it: by the kind's plural (whose hook
# is ``zoo_register_<plural>``), the kind's name in messages, its entry class, and the hint an
# unknown name's error ends with.
KINDS: dict[str, tuple[str, type, str | None]] = {
    "models": ("model", ModelSpec, "Run `zoo list` to see every registered model."),
    "datasets": ("dataset", DatasetSpec, None),
    "exporters": ("exporter", ExporterSpec, None),
    **{k.plural: (k.kind, k, None) for k in PART_KINDS},
    "loggers": ("logger", LoggerSpec, None),
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
        self._registries: dict[str, Registry] = {}

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
        self._registries.clear()
        return info

    def unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.infos.pop(name, None)
        self._registries.clear()

    @property
    def registry(self) -> Registry[ModelSpec]:
        """The model registry, built on first use from every loaded plugin's registrations."""
        return self.entries("models")

    @property
    def datasets(self) -> Registry[DatasetSpec]:
        """The datasets that plugins registered through the trainer hook."""
        return self.entries("datasets")

    @property
    def exporters(self) -> Registry[ExporterSpec]:
        """The export formats that plugins registered, the built-in ones included."""
        return self.entries("exporters")

    def entries(self, plural: str) -> Registry:
        """The registry of one kind (``KINDS``), built on first use by calling every plugin's
        registration hook with its own ``register``; a plugin's entries are kept only if its
        whole hook returns."""
        if plural not in self._registries:
            kind, entry, hint = KINDS[plural]
            registry = Registry(kind, plural=plural, hint=hint)
            for impl in getattr(self.pm.hook, f"zoo_register_{plural}").get_hookimpls():
                info = self.infos[impl.plugin_name]
                staged: list = []
                try:
                    impl.function(register=registrar(registry.kind, entry, info.origin, staged))
                except Exception as exc:
                    self._record_failure(info, exc, f"failed while registering {plural}")
                    continue
                for spec in staged:
                    registry.add(spec)
                info.registered[plural] = [spec.name for spec in staged]
            self._registries[plural] = registry
            if plural == "models":
                self._fill_datasets(registry)
        return self._registries[plural]

    def _fill_datasets(self, models: Registry[ModelSpec]) -> None:
        """Give a recipe that names no dataset (a zoo 0.1 plugin's) the dataset that a plugin
        declares the default; without one, the model is dropped with a warning naming it."""
        lacking = [spec for spec in models if any(r.dataset is None for r in (spec.recipe, *spec.recipes))]
        if not lacking:
            return
        defaults = [d.name for d in self.datasets if d.default]
        for spec in lacking:
            if len(defaults) != 1:
                models.remove(spec.name)
                warnings.warn(
                    f"model {spec.name} (plugin {spec.origin}) has a recipe that names no dataset and "
                    f"{len(defaults)} datasets are declared the default; name its dataset in Recipe(...)",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            fill = [
                r.replace(dataset=defaults[0]) if r.dataset is None else r
                for r in (spec.recipe, *spec.recipes)
            ]
            models.replace(dataclasses.replace(spec, recipe=fill[0], recipes=tuple(fill[1:])))

    def _record_failure(self, info: PluginInfo, exc: Exception, what: str) -> None:
        reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
        message = f"zoo plugin {info.origin} {what}: {reason}"
        if self.strict:
            raise PluginError(f"{message} ({STRICT_ENV} is set)") from exc
        info.status, info.error = "failed", reason
        info.registered.clear()
        self.infos[info.name] = info
        if self.pm.get_plugin(info.name) is not None:
            self.pm.unregister(name=info.name)
        warnings.warn(f"{message}; it was skipped", PluginWarning, stacklevel=2)


HUBS_GROUP = "zoo.hubs"


@functools.cache
def installed_hubs() -> tuple[Path, ...]:
    """The hubs that installed distributions carry: each entry point of the ``zoo.hubs`` group
    names a package whose ``hub/`` folder holds a ``manifest.json`` and its bundles (as
    ``zoo-core-weights`` does). Found without importing anything."""
    found = []
    for entry_point in sorted(metadata.entry_points(group=HUBS_GROUP), key=lambda e: e.name):
        try:
            spec = importlib.util.find_spec(entry_point.module)
        except (ImportError, ValueError):
            spec = None
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        hubs = [
            Path(folder) / "hub" for folder in folders if (Path(folder) / "hub" / "manifest.json").is_file()
        ]
        if not hubs:
            warnings.warn(
                f"installed hub {entry_point.name} ({entry_point.value}) has no hub/manifest.json; skipped",
                PluginWarning,
                stacklevel=2,
            )
        found.extend(hubs)
    return tuple(found)


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
    """Every plugin, loaded or failed, with what it registered."""
    host = get_host()
    for plural in KINDS:
        host.entries(plural)  # registering fills in each plugin's lists
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


def part_registry(kind: type[PartSpec]) -> Registry[PartSpec]:
    """Every registered training part of one kind (``OptimizerSpec``, ``TrainerSpec``...)."""
    return get_host().entries(kind.plural)


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


def run_loggers(names: tuple[str, ...], run: Any) -> list[Any]:
    """The loggers ``names`` (``zoo train --logger``) made for ``run``; an unknown name is one
    line listing the registered ones."""
    return [part_registry(LoggerSpec).get(name).load()(run) for name in names]


def tell_loggers(loggers: list[Any], method: str, *args: Any) -> None:
    """Call ``method`` of each logger that has it; one that raises is warned about once and the
    run goes on, as with the ``zoo_train_*`` hooks."""
    for logger in loggers:
        call = getattr(logger, method, None)
        if call is None:
            continue
        try:
            call(*args)
        except Exception as exc:
            key = (method, type(logger).__name__)
            if key not in _WARNED:
                _WARNED.add(key)
                warnings.warn(
                    f"logger {type(logger).__name__} failed in {method} ({type(exc).__name__}: {exc}); "
                    "training goes on without it",
                    PluginWarning,
                    stacklevel=2,
                )
