"""The contract as plugins see it: the typed register callbacks match what the core accepts,
and the README and plugins import only from ``zoo_core`` itself."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

import zoo_core
from zoo_core.contract import hookspecs
from zoo_core.host.entries import (
    AugmentationSpec,
    DatasetSpec,
    ExporterSpec,
    ModelSpec,
    OptimizerSpec,
    TrainerSpec,
)
from zoo_core.host.registry import PluginOrigin, registrar

from .helpers import ROOT, run_python


@pytest.mark.parametrize(
    ("protocol", "entry"),
    [
        (hookspecs.RegisterModel, ModelSpec),
        (hookspecs.RegisterDataset, DatasetSpec),
        (hookspecs.RegisterExporter, ExporterSpec),
        (hookspecs.RegisterPart, OptimizerSpec),
        (hookspecs.RegisterAugmentation, AugmentationSpec),
        (hookspecs.RegisterTrainer, TrainerSpec),
    ],
)
def test_each_register_protocol_is_the_callback_plugins_get(protocol, entry) -> None:
    documented = list(inspect.signature(protocol.__call__).parameters.values())[1:]  # no self
    handed = inspect.signature(registrar("x", entry, PluginOrigin("p"), [])).parameters.values()
    assert [(p.name, p.kind, p.default) for p in documented] == [(p.name, p.kind, p.default) for p in handed]
    for parameter in documented:  # and the protocol's docstring says what each one is
        assert re.search(rf"``{parameter.name}[`(]", protocol.__call__.__doc__), parameter.name


def test_every_hook_is_documented() -> None:
    hooks = [n for n in dir(hookspecs) if n.startswith("zoo_")]
    assert hooks and all(getattr(hookspecs, n).__doc__ for n in hooks)


def test_the_public_api_is_complete_and_imports_no_torch() -> None:
    assert all(hasattr(zoo_core, name) for name in zoo_core.__all__)
    result = run_python("-c", "import sys, zoo_core; print('torch' in sys.modules)")
    assert result.stdout.strip() == "False", result.stderr


def deep_imports(source: str) -> list[str]:
    """Imports from ``zoo_core``'s modules rather than from ``zoo_core`` itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zoo_core."):
            found.append(node.module)
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("zoo_core.")]
    return found


def test_the_readme_python_imports_only_from_zoo_core() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks
    names = set(zoo_core.__all__)
    for block in blocks:
        assert deep_imports(block) == []
        for used in re.findall(r"\bzoo\.(\w+)", block):
            assert used in names, f"the README uses zoo.{used}, which zoo_core does not export"


@pytest.mark.parametrize(
    "folder",
    ["zoo_plugins", "plugins/zoo-plugin-example/zoo_plugin_example", "plugins/zoo-mixup/zoo_mixup"],
    ids=["built-in", "example", "mixup"],
)
def test_plugins_import_only_from_zoo_core(folder) -> None:
    for path in sorted((ROOT / folder).rglob("*.py")):
        assert deep_imports(path.read_text()) == [], path
