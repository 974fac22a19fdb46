"""Adding a built-in architecture touches its family folder and ``pyproject.toml`` only: the
steps ``docs/architecture.md`` gives, followed with its own code in a copy of the repository,
which is then built and installed as a wheel and lists, describes, builds and adapts the new
model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import ROOT
from .test_wheel import build_wheel, fresh_venv

pytestmark = pytest.mark.slow

STEP = re.compile(r"<!-- step: (\S+) -->\n```\w+\n(.*?)```", re.S)


def documented_steps() -> dict[str, str]:
    """Each file the steps in docs/architecture.md write or extend, with the code they give."""
    return dict(STEP.findall((ROOT / "docs" / "architecture.md").read_text()))


def repository_copy(folder: Path) -> Path:
    """What a wheel is built from: the core, the built-in plugins, the weights manifest they
    link to, and the project's files."""
    for name in ("zoo_core", "zoo_plugins"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / name, folder / name, symlinks=True, ignore=ignore)
    (folder / "weights").mkdir()
    shutil.copy(ROOT / "weights" / "manifest.json", folder / "weights")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def follow(steps: dict[str, str], repository: Path) -> list[str]:
    """Apply the steps: new files are written, a TOML line joins the zoo entry points. Returns
    the paths touched."""
    for path, code in steps.items():
        target = repository / path
        if path == "pyproject.toml":
            text = target.read_text()
            table = "[project.entry-points.zoo]\n"
            assert table in text
            target.write_text(text.replace(table, table + code, 1))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            assert not target.exists(), f"{path} is a new file of the family"
            target.write_text(code)
    return sorted(steps)


def test_the_documented_steps_add_a_family_that_the_installed_zoo_lists_and_builds(tmp_path) -> None:
    steps = documented_steps()
    touched = follow(steps, repository_copy(tmp_path / "repo"))
    family = {str(Path(p).parent) for p in touched if p != "pyproject.toml"}
    assert touched[0] == "pyproject.toml" and family == {"zoo_plugins/architectures/tiny"}
    zoo = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist", tmp_path / "repo"))
    python = zoo.with_name("python")
    script = (
        "import json, torch, zoo_core as zoo\n"
        "model = zoo.create_model('tiny', num_classes=3)\n"
        "out = list(model(torch.zeros(2, 1, 28, 28)).shape)\n"
        "print(json.dumps([zoo.list_models('t*'), model.first_conv, model.classifier_layer, out]))\n"
    )
    result = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["tiny"], "0", "4", [2, 3]]
    info = subprocess.run([str(zoo), "info", "tiny", "--json"], cwd=tmp_path, capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    described = json.loads(info.stdout)
    assert (described["params"], described["plugin"]) == (170, "tiny")
    assert described["feature_info"] == [{"module": "1", "num_chs": 8, "reduction": 1}]
