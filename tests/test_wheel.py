"""The wheel stands alone: built from the checkout, installed into a fresh virtual environment, it
lists the shipped weights and fetches them from a hub, from a folder with no checkout in sight."""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from zoo_plugins.architectures.shipped_weights import CHECKOUT_WEIGHTS

from .helpers import ROOT, shipped_entries
from .hub_server import HubServer

pytestmark = pytest.mark.slow


def build_wheel(out: Path, source: Path = ROOT, name: str = "zoo_core") -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob(f"{name}-*.whl")
    return wheel


def fresh_venv(folder: Path, *wheels: Path) -> Path:
    """A new virtual environment with the wheel installed; its dependencies (torch and the rest,
    gigabytes that the network would have to bring) are this test environment's, put on its path."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            *map(str, wheels),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / "bin" / "zoo"


def test_the_wheel_is_small_licensed_and_carries_the_manifest_but_no_weights(tmp_path) -> None:
    wheel = build_wheel(tmp_path)
    assert wheel.stat().st_size < 1_000_000
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(
            archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        )
    assert {"zoo_plugins/manifest.json", "zoo_core/cli/hub.py"} <= set(names)
    assert not [n for n in names if n.endswith(".safetensors") or n.startswith(("tests/", "weights/"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert metadata["Name"] == "zoo-core" and metadata["License-Expression"] == "MIT"


def test_an_installed_wheel_fetches_weights_from_a_hub_and_measures_the_cards_accuracy(tmp_path) -> None:
    zoo = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {"ZOO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(zoo), *args], cwd=empty, env={**env, **extra}, capture_output=True, text=True, timeout=600
        )

    where = run("list", "--pretrained", "--json")
    assert where.returncode == 0, where.stderr
    assert "fashion_cnn" in {m["name"] for m in json.loads(where.stdout)}
    no_hub = run("eval", "fashion_cnn", "--weights", "fashion_mnist")
    assert no_hub.returncode == 1 and "no hub is set: set ZOO_HUB" in no_hub.stderr
    assert len(no_hub.stderr.strip().splitlines()) == 1

    card = next(e for e in shipped_entries() if e.model == "fashion_cnn")
    with HubServer(CHECKOUT_WEIGHTS) as hub:
        result = run("eval", "fashion_cnn", "--weights", "fashion_mnist", "--no-download", ZOO_HUB=hub.url)
        assert result.returncode == 0, result.stderr
        assert [r.path for r in hub.requests] == [f"/{card.url}"]
    assert f"accuracy {card.metrics['test_accuracy']:.4f}" in result.stdout
    assert (
        tmp_path / "home" / "weights" / f"fashion_cnn-fashion_mnist-{card.sha256[:12]}.safetensors"
    ).is_file()


def test_zoo_core_with_its_weights_evaluates_a_tag_with_no_hub_and_no_network(tmp_path) -> None:
    """`pip install 'zoo-core[weights]'` as two wheels: the weights are an installed hub, found
    with no setting, read in place (nothing is copied into the cache), sha256-checked."""
    weights_wheel = build_wheel(tmp_path / "dist", ROOT / "plugins" / "zoo-core-weights", "zoo_core_weights")
    with zipfile.ZipFile(weights_wheel) as archive:
        shipped = {n for n in archive.namelist() if n.endswith(".safetensors")}
    assert len(shipped) == len(shipped_entries())
    zoo = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"), weights_wheel)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {"ZOO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "ZOO_OFFLINE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(zoo), *args], cwd=empty, env=env, capture_output=True, text=True, timeout=600
        )

    listed = run("list", "--pretrained")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert rows and all("installed" in row for row in rows), listed.stdout
    card = next(e for e in shipped_entries() if e.model == "fashion_cnn")
    result = run("eval", "fashion_cnn", "--weights", "fashion_mnist", "--no-download")
    assert result.returncode == 0, result.stderr
    assert f"accuracy {card.metrics['test_accuracy']:.4f}" in result.stdout
    assert not (tmp_path / "home" / "weights").exists()  # used where it is installed


def test_zoo_torchvision_installs_beside_the_zoo_core_wheel_and_passes_its_own_tests(tmp_path) -> None:
    """`pip install ./plugins/zoo-torchvision` next to zoo-core: its models come through the
    entry point, and its own tests (the quick ones) pass in that environment."""
    package = ROOT / "plugins" / "zoo-torchvision"
    wheel = build_wheel(tmp_path / "dist", package, "zoo_torchvision")
    zoo = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"), wheel)
    env = {"ZOO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [str(zoo), "list", "torchvision/resnet*"], env=env, capture_output=True, text=True, timeout=600
    )
    assert listed.returncode == 0, listed.stderr
    assert "torchvision/resnet50 " in listed.stdout
    tests = shutil.copytree(package / "tests", tmp_path / "tests")  # not the checkout's package
    own = subprocess.run(
        [str(zoo.parent / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests),
         "-k", "listed or version or torch_home or offline"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert own.returncode == 0, own.stdout[-3000:]
    assert "5 passed" in own.stdout
