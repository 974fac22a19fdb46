"""The core names no plugin: no model, dataset, exporter, training part, option, shorthand or
file that a built-in plugin registers appears among ``zoo_core``'s strings. A name the core
needed would tie it to one plugin; what it needs from a plugin, the plugin declares (a default
part, the dataset ``--data`` reads, an option ``zoo bench`` times, a ``zoo train`` shorthand)."""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

from zoo_core.contract import hookspecs
from zoo_core.contract.interfaces import ExporterOption
from zoo_core.contract.recipe import OLD_FIELDS
from zoo_core.contract.run import LEGACY_PATHS
from zoo_core.host.entries import PART_KINDS, LoggerSpec
from zoo_core.host.plugins import dataset_registry, exporter_registry, model_registry, part_registry

from .helpers import ROOT

BUILT_IN = "zoo-core"
# Words that are the core's own before any plugin's: the parameters of its register() callbacks
# and the fields of the options it declares (an exporter's `default`, say, is also the name of
# the built-in trainer).
CONTRACT_WORDS = {
    name
    for protocol in (getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("Register"))
    for name in inspect.signature(protocol.__call__).parameters
} | {f.name for f in fields(ExporterOption)}
# zoo 0.1's API, kept working with a deprecation warning: the recipe fields that became options,
# and the run logger's files that Run named.
LEGACY = {
    "zoo_core/contract/recipe.py": set(OLD_FIELDS),
    "zoo_core/contract/run.py": set(LEGACY_PATHS.values()),
}


def built_in(spec) -> bool:
    return (spec.origin.distribution or "").removesuffix(" (source tree)") == BUILT_IN


def plugin_names() -> dict[str, str]:
    """Every name a built-in plugin registers, with what it names."""
    names: dict[str, str] = {}
    for spec in filter(built_in, map(model_registry().get, model_registry().names())):
        names[spec.name] = "model"
    for spec in filter(built_in, map(dataset_registry().get, dataset_registry().names())):
        names[spec.name] = "dataset"
    for spec in filter(built_in, exporter_registry()):
        names[spec.name] = "exporter"
        names.update({o.name: f"option of exporter {spec.name}" for o in spec.options})
    for kind in (*PART_KINDS, LoggerSpec):
        for spec in filter(built_in, part_registry(kind)):
            names[spec.name] = kind.kind
            names.update({o.name: f"option of {kind.kind} {spec.name}" for o in spec.options})
            names.update({o.flag: f"shorthand of {kind.kind} {spec.name}" for o in spec.options if o.flag})
    from zoo_plugins.loggers import files, run_log

    for module in (run_log, files):
        for key, value in vars(module).items():
            if key.endswith(("_FILE", "_FOLDER")):
                names[value] = f"a file of the logger plugin {module.__name__}"
    return {name: what for name, what in names.items() if name not in CONTRACT_WORDS}


def strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def hits(root: Path, names: dict[str, str]) -> list[str]:
    """Each string of the core that is a plugin's name, or holds a distinctive one (with an
    underscore, a dot or a digit: 'fashion_mnist', 'curves.png') as a word."""
    distinctive = [n for n in names if re.search(r"[_.\d]", n)]
    token = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, distinctive)) + r")(?![\w-])")
    found = []
    for path in sorted((root / "zoo_core").rglob("*.py")):
        where = path.relative_to(root).as_posix()
        allowed = LEGACY.get(where, set())
        for line, text in strings(ast.parse(path.read_text())):
            named = {text} if text in names else set(token.findall(text))
            for name in sorted(named - allowed):
                found.append(f"{where}:{line} names {name!r} ({names[name]})")
    return found


def test_the_core_names_no_name_a_built_in_plugin_registers() -> None:
    names = plugin_names()
    kinds = {
        "model",
        "dataset",
        "exporter",
        "trainer",
        "logger",
        "a file of the logger plugin zoo_plugins.loggers.run_log",
    }
    assert kinds <= set(names.values())
    found = hits(ROOT, names)
    assert not found, "the core names plugins: " + "; ".join(found)


@pytest.mark.parametrize(
    "line",
    ['if recipe.optimizer != "sgd":\n    pass\n', 'FILE = "metrics.jsonl"\n', '"""Reads fashion_mnist."""\n'],
)
def test_a_plugins_name_in_the_core_is_found(tmp_path: Path, line: str) -> None:
    (tmp_path / "zoo_core").mkdir()
    (tmp_path / "zoo_core" / "mistake.py").write_text(line)
    found = hits(tmp_path, plugin_names())
    assert len(found) == 1 and found[0].startswith("zoo_core/mistake.py:1 names "), found
