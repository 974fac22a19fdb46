"""The core's layers point only down: every import of every ``zoo_core`` module, at the top or
inside a function, is read with ``ast`` and checked against the layer map below, which
``docs/architecture.md`` draws. A circle between modules or an import of a higher layer fails,
naming the modules and the line."""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import ROOT

# Lowest first: each layer is a package of zoo_core (the faces are the package itself, its
# __main__, torch_hub and the CLI). A module may import its own layer and the layers below, never
# one above; a new module lands in a layer by the folder it sits in.
LAYERS = {
    "base": ["zoo_core.base", "zoo_core.base.*"],
    "runtime": ["zoo_core.runtime", "zoo_core.runtime.*"],
    "contract": ["zoo_core.contract", "zoo_core.contract.*"],
    "host": ["zoo_core.host", "zoo_core.host.*"],
    "store": ["zoo_core.store", "zoo_core.store.*"],
    "data": ["zoo_core.data", "zoo_core.data.*"],
    "models": ["zoo_core.models", "zoo_core.models.*"],
    "training": ["zoo_core.training", "zoo_core.training.*"],
    "export": ["zoo_core.export", "zoo_core.export.*"],
    "faces": ["zoo_core", "zoo_core.__main__", "zoo_core.torch_hub", "zoo_core.cli", "zoo_core.cli.*"],
}
# What a function may import instead of its module doing it at the top: the heavy optional
# dependencies that `zoo list` must not pay for, and core modules that import one of them.
HEAVY = (
    "torch",
    "torchvision",
    "torchview",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "matplotlib",
    "torchmetrics",  # 1-3 s (it imports torchvision): only for an evaluation's report
    "safetensors.torch",
    "tqdm",  # ~50 ms: only when a download shows a progress bar, never on `zoo list`
    "numpy",  # ~60 ms: comes with torch, used beside it
    "PIL",  # only when an image is read
    "filelock",  # ~20 ms: only when a file is fetched or published
)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module
    line: int
    in_function: bool
    commented: bool  # the import's line carries a comment saying why it is there


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (found at ``root / package``) by dotted name."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(root: Path, package: str) -> list[Import]:
    """Every import of one of ``package``'s modules, or of an outside module, in ``package``."""
    known = modules(root, package)
    found = []
    for name, path in known.items():
        source = path.read_text()
        lines = source.splitlines()
        is_package = path.name == "__init__.py"
        tree = ast.parse(source)
        nested = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            for target in _targets(node, name, is_package, known):
                commented = "#" in lines[node.lineno - 1]
                found.append(Import(name, target, node.lineno, id(node) in nested, commented))
    return found


def _targets(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        full = ".".join(base + ([node.module] if node.module else []))
    else:
        full = node.module or ""
    # `from . import x` imports the module `x` when there is one, else a name from the package
    return [f"{full}.{alias.name}" if f"{full}.{alias.name}" in known else full for alias in node.names]


def layer_of(module: str, layers: dict[str, list[str]]) -> int:
    matches = [
        i
        for i, patterns in enumerate(layers.values())
        if any(fnmatch.fnmatchcase(module, p) for p in patterns)
    ]
    assert len(matches) == 1, f"{module} belongs to {len(matches)} layers; place it in exactly one of LAYERS"
    return matches[0]


def internal(found: list[Import], package: str) -> list[Import]:
    return [i for i in found if i.target.split(".")[0] == package and i.target != i.source]


def circles(found: list[Import]) -> list[list[str]]:
    """Every import circle, each as the path that closes it (a -> b -> a)."""
    graph: dict[str, set[str]] = {}
    for i in found:
        graph.setdefault(i.source, set()).add(i.target)
    seen_cycles, result = set(), []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                ring = path[path.index(nxt) :]
                first = ring.index(min(ring))  # the same circle, found from anywhere, reads the same
                ring = ring[first:] + ring[:first]
                if tuple(ring) not in seen_cycles:
                    seen_cycles.add(tuple(ring))
                    result.append([*ring, ring[0]])
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return result


def upward(found: list[Import], layers: dict[str, list[str]]) -> list[str]:
    names = list(layers)
    return [
        f"{i.source} ({names[layer_of(i.source, layers)]}) imports {i.target} "
        f"({names[layer_of(i.target, layers)]}) at line {i.line}"
        for i in found
        if layer_of(i.target, layers) > layer_of(i.source, layers)
    ]


def is_heavy(module: str) -> bool:
    return any(module == h or module.startswith(h + ".") for h in HEAVY)


def heavy_modules(found: list[Import], package: str) -> set[str]:
    """The package's modules that import a heavy dependency at their top, directly or through
    another of the package's modules."""
    top = [i for i in found if not i.in_function]
    heavy = {i.source for i in top if is_heavy(i.target)}
    while True:
        more = {i.source for i in internal(top, package) if i.target in heavy} - heavy
        if not more:
            return heavy
        heavy |= more


CORE = imports(ROOT, "zoo_core")


def test_every_core_module_has_one_layer() -> None:
    for module in modules(ROOT, "zoo_core"):
        layer_of(module, LAYERS)


def test_no_import_circle_between_core_modules() -> None:
    found = sorted(circles(internal(CORE, "zoo_core")), key=len)
    shortest = "; ".join(" -> ".join(c) for c in found[:5])
    assert not found, f"{len(found)} import circles, the shortest: {shortest}"


def test_no_core_module_imports_a_layer_above_it() -> None:
    found = upward(internal(CORE, "zoo_core"), LAYERS)
    assert not found, "upward imports: " + "; ".join(found)


def test_imports_inside_functions_are_only_heavy_ones_and_say_so() -> None:
    heavy = heavy_modules(CORE, "zoo_core")
    late = [i for i in CORE if i.in_function]
    light = [i for i in late if i.target not in heavy and not is_heavy(i.target)]
    assert not light, "move these imports to the module's top: " + "; ".join(
        f"{i.source} imports {i.target} at line {i.line}" for i in light
    )
    silent = [f"{i.source} line {i.line}" for i in late if not i.commented]
    assert not silent, "say why these imports wait for a function (a comment on the line): " + "; ".join(
        silent
    )


@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    """A three-layer package that the checks accept, to break in the tests below."""
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text("from .service import run\n")
    (package / "base.py").write_text("VALUE = 1\n")
    (package / "service.py").write_text("from .base import VALUE\n\ndef run():\n    return VALUE\n")
    return tmp_path


TOY_LAYERS = {"base": ["toy.base"], "services": ["toy.service"], "faces": ["toy"]}


def test_the_checks_pass_a_package_that_points_down(toy_package: Path) -> None:
    found = internal(imports(toy_package, "toy"), "toy")
    assert {(i.source, i.target) for i in found} == {("toy", "toy.service"), ("toy.service", "toy.base")}
    assert not circles(found) and not upward(found, TOY_LAYERS)


def test_an_upward_import_inside_a_function_is_named(toy_package: Path) -> None:
    (toy_package / "toy" / "base.py").write_text(
        "def value():\n    from .service import run\n    return run()\n"
    )
    found = internal(imports(toy_package, "toy"), "toy")
    assert upward(found, TOY_LAYERS) == ["toy.base (base) imports toy.service (services) at line 2"]
    assert circles(found) == [["toy.base", "toy.service", "toy.base"]]


def test_importing_the_package_face_from_below_is_a_circle(toy_package: Path) -> None:
    (toy_package / "toy" / "service.py").write_text("from . import VERSION\n")
    found = internal(imports(toy_package, "toy"), "toy")
    assert circles(found) == [["toy", "toy.service", "toy"]]
    assert upward(found, TOY_LAYERS) == ["toy.service (services) imports toy (faces) at line 1"]
