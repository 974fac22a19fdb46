"""Third-party plugins installed for real: the example package, a broken one and a duplicate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo_core

from .helpers import ROOT, run_python
from .hub_server import HubServer

EXAMPLE = ROOT / "plugins" / "zoo-plugin-example"
MIXUP = ROOT / "plugins" / "zoo-mixup"


def pip_install(package: Path, target: Path) -> Path:
    """Install ``package`` by pip into ``target``, a folder to put on PYTHONPATH."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


@pytest.fixture(scope="module")
def example_site(tmp_path_factory) -> Path:
    """The example plugin package, installed by pip into a folder put on PYTHONPATH."""
    return pip_install(EXAMPLE, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def mixup_site(tmp_path_factory) -> Path:
    """The example training-part package (mixup), installed the same way."""
    return pip_install(MIXUP, tmp_path_factory.mktemp("mixup"))


def fake_distribution(site: Path, dist: str, plugin: str, source: str) -> None:
    """Install a one-module plugin distribution by hand: its module and a dist-info folder."""
    module = f"{dist.replace('-', '_')}_plugin"
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{plugin} = {module}\n")


def zoo(*args: str, site: Path, **env: str) -> subprocess.CompletedProcess:
    return run_python("-m", "zoo_core", *args, env={"PYTHONPATH": str(site), **env})


def test_example_plugin_is_listed_built_and_attributed(example_site) -> None:
    listed = zoo("list", "tiny*", "--json", site=example_site)
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert (entry["name"], entry["plugin"], entry["distribution"]) == (
        "tinynet",
        "tinynet",
        "zoo-plugin-example",
    )

    built = run_python(
        "-c",
        "import torch, zoo_core as zoo; m = zoo.create_model('tinynet', num_classes=4); "
        "print(tuple(m(torch.zeros(2, 1, 28, 28)).shape))",
        env={"PYTHONPATH": str(example_site)},
    )
    assert built.stdout.strip() == "(2, 4)", built.stderr

    shown = json.loads(zoo("plugins", "--json", site=example_site).stdout)
    assert {
        "name": "tinynet",
        "distribution": "zoo-plugin-example",
        "status": "ok",
        "models": ["tinynet"],
    }.items() <= next(p for p in shown if p["name"] == "tinynet").items()


def test_torch_hub_lists_and_loads_third_party_models(example_site, tmp_path) -> None:
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    (hub_dir / "owner_zoo_main").symlink_to(ROOT)  # what torch.hub's GitHub download leaves
    script = (
        f"import torch; torch.hub.set_dir({str(hub_dir)!r}); "
        "names = torch.hub.list('owner/zoo:main', skip_validation=True, trust_repo=True); "
        f"m = torch.hub.load({str(ROOT)!r}, 'tinynet', source='local', num_classes=3); "
        "print(','.join(names)); print(tuple(m(torch.zeros(1, 1, 28, 28)).shape))"
    )
    result = run_python("-c", script, env={"PYTHONPATH": str(example_site)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names, shape = result.stdout.strip().splitlines()[-2:]
    assert {"tinynet", "resnet18", "fashion_cnn"} <= set(names.split(","))
    assert shape == "(1, 3)"


def test_a_broken_plugin_is_skipped_reported_and_strict_mode_fails(tmp_path) -> None:
    fake_distribution(tmp_path, "zoo-broken", "broken", "raise ImportError('needs frobnicate')\n")

    listed = zoo("list", site=tmp_path)
    assert listed.returncode == 0
    assert "resnet18" in listed.stdout
    assert "zoo plugin broken (zoo-broken 0.1) failed to load: ImportError: needs frobnicate" in listed.stderr
    assert "Traceback" not in listed.stderr

    shown = {p["name"]: p for p in json.loads(zoo("plugins", "--json", site=tmp_path).stdout)}
    assert shown["broken"]["status"] == "failed"
    assert shown["broken"]["error"] == "ImportError: needs frobnicate"
    assert shown["lenet"]["status"] == "ok"

    strict = zoo("list", site=tmp_path, ZOO_STRICT_PLUGINS="1")
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines() == [
        "Error: zoo plugin broken (zoo-broken 0.1) failed to load: ImportError: needs frobnicate "
        "(ZOO_STRICT_PLUGINS is set)"
    ]


def test_a_plugin_reusing_a_builtin_name_is_an_error_naming_both(tmp_path) -> None:
    source = (
        "from zoo_core import Recipe, hookimpl\n\n"
        "@hookimpl\n"
        "def zoo_register_models(register):\n"
        "    recipe = Recipe(dataset='x')\n"
        "    register('lenet5', 'zoo_dupe_plugin:build', params=1, recipe=recipe, description='Mine.')\n"
    )
    fake_distribution(tmp_path, "zoo-dupe", "dupe", source)
    result = zoo("list", site=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: model 'lenet5' is registered by both plugin dupe (zoo-dupe 0.1) and plugin "
        f"lenet (zoo-core {zoo_core.__version__}); uninstall or disable one of them"
    )


def test_a_third_party_exporter_is_offered_and_works(example_site, tmp_path) -> None:
    helped = " ".join(zoo("export", "--help", site=example_site).stdout.split())
    assert "npz, onnx, pt2, safetensors" in helped
    assert "--npz Write NAME.npz" in helped  # the format's shortcut
    assert "--compress / --no-compress Compress the arrays" in helped  # the exporter's own option
    result = zoo(
        "export", "lenet5", "--npz", "--compress", "--json", "--out", str(tmp_path), site=example_site
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "deprecat" not in result.stderr.lower()
    (report,) = json.loads(result.stdout)
    assert report["format"] == "npz" and report["check"] == "read back without pickle, every array equal"
    path = tmp_path / "lenet5.npz"
    assert path.is_file()
    refused = zoo("export", "lenet5", "--onnx", "--compress", "--out", str(tmp_path), site=example_site)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(
        "Error: option 'compress' is not taken by onnx (options taken: atol, calibration_images, check,"
    )
    with np.load(path, allow_pickle=False) as loaded:  # numpy alone reads it
        assert loaded["0.weight"].shape == (6, 1, 5, 5)
        assert json.loads(str(loaded["__zoo__"]))["model"] == "lenet5"


def test_the_example_plugin_ships_a_manifest_whose_weights_come_from_its_hub(example_site, tmp_path) -> None:
    home = str(tmp_path / "home")
    offline = zoo("pull", "tinynet", site=example_site, ZOO_HOME=home)
    assert offline.returncode == 1 and "no hub is set: set ZOO_HUB" in offline.stderr
    with HubServer(EXAMPLE / "hub") as hub:
        pulled = zoo("pull", "tinynet", "--no-progress", site=example_site, ZOO_HOME=home, ZOO_HUB=hub.url)
        assert pulled.returncode == 0, pulled.stderr
        assert [r.path for r in hub.requests] == ["/tinynet/fashion_mnist/model.safetensors"]
    listed = json.loads(zoo("weights", "list", "--json", site=example_site, ZOO_HOME=home).stdout)
    (tiny,) = [w for w in listed if w["model"] == "tinynet"]
    assert tiny["local"] == "cache" and tiny["license"] == "MIT"
    built = run_python(
        "-c",
        "import torch, zoo_core as zoo; m = zoo.create_model('tinynet', weights=True); "
        "print(m.zoo_weights.name, tuple(m(torch.zeros(1, 1, 28, 28)).shape))",
        env={"PYTHONPATH": str(example_site), "ZOO_HOME": home, "ZOO_OFFLINE": "1"},
    )
    assert built.stdout.strip() == "tinynet.fashion_mnist (1, 10)", built.stderr


def readme_files() -> dict[str, str]:
    """The plugin files the README's plugin section shows, by the path each block names."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Write your own plugin")[1].split("\n## ")[0]
    blocks = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", section, flags=re.S)
    return {path: body for path, body in blocks}


def test_the_readme_plugin_installs_and_its_dataset_streams(tmp_path) -> None:
    files = readme_files()
    assert set(files) == {"my_zoo_plugin/__init__.py", "my_zoo_plugin/scans.py", "pyproject.toml"}
    package = tmp_path / "package"
    for path, body in files.items():
        (package / path).parent.mkdir(parents=True, exist_ok=True)
        (package / path).write_text(body)
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    installed = subprocess.run(
        [*pip, "--target", str(site), str(package)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stderr
    data = tmp_path / "scans"
    for split, count in (("train", 40), ("test", 10)):
        (data / split).mkdir(parents=True)
        for i in range(count):  # class 1 bright, class 0 dark, sizes vary
            Image.new("RGB", (20 + i, 30), (200 * (i % 2),) * 3).save(data / split / f"{i % 2}-{i}.png")
    script = (
        "import json, pathlib, sys, zoo_core as zoo; from zoo_core import training\n"
        "recipe = zoo.get_recipe('lenet5', dataset='scans', epochs=3, batch_size=8, lr=0.01, patience=0)\n"
        "settings = training.Settings(data_dir=sys.argv[1], data_cache=False, workers=1)\n"
        "report = training.train('lenet5', recipe, settings, out=pathlib.Path(sys.argv[2]), progress=False)\n"
        "print(json.dumps(report))\n"
    )
    result = run_python("-c", script, str(data), str(tmp_path / "run"), env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert result.stdout.startswith("data: scans (2 classes), 32 train / 8 val / 10 test images; streaming")
    assert report["test_images"] == 10 and report["test_accuracy"] == 1.0  # bright against dark
    listed = zoo("list", "convnext*", "--json", site=site)
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["name"] == "convnext_nano"


def test_a_third_party_augmentation_is_listed_and_trained_with(mixup_site, tmp_path) -> None:
    shown = json.loads(zoo("plugins", "--json", site=mixup_site).stdout)
    (entry,) = [p for p in shown if p["name"] == "mixup"]
    assert (entry["distribution"], entry["augmentations"]) == ("zoo-mixup", ["mixup"])
    smoke = ["--recipe", "lesson", "--subset", "1000", "--no-progress", "--device", "cpu"]
    trained = zoo(
        "train", "lenet5", *smoke, "--augment", "flip,mixup", "--set", "mixup_alpha=0.4", "--epochs", "3",
        "--out", str(tmp_path / "run"), site=mixup_site,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["test_accuracy"] > 0.25  # chance is 0.1
    recipe = json.loads((tmp_path / "run" / "recipe.json").read_text())
    assert (recipe["augment"], recipe["options"]) == (["flip", "mixup"], {"mixup_alpha": 0.4})

    # a mixed image is not the one the teacher saw: it is asked about every batch
    distilled = zoo(
        "train", "lenet5", *smoke, "--augment", "mixup", "--teacher", "resnet18_small:fashion_mnist",
        "--epochs", "1", "--out", str(tmp_path / "kd"), site=mixup_site,
    )  # fmt: skip
    assert distilled.returncode == 0, distilled.stderr
    report = json.loads((tmp_path / "kd" / "report.json").read_text())
    assert (report["trainer"], report["teacher_logits"]) == ("distill", "every batch")

    missing = zoo("train", "lenet5", *smoke, "--augment", "mixup", site=str(tmp_path))
    assert missing.returncode == 1 and "unknown augmentation 'mixup'" in missing.stderr


PLUGIN_FOR_ZOO_0_1 = """
from zoo_core import Recipe, hookimpl


@hookimpl
def zoo_register_models(register):
    register(
        "convnext_nano",
        "my_zoo_plugin.nets:convnext_nano",  # imported only when the model is built
        params=170,  # at the default configuration; test it
        num_classes=10,
        in_channels=1,
        input_size=(28, 28),
        recipe=Recipe(name="default", epochs=30, momentum=0.9),
        description="A ConvNeXt for 28x28 images.",
    )
"""

NETS = """
from torch import nn


def convnext_nano(num_classes=10, in_channels=1):
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes)
    )
"""


def test_a_plugin_written_against_the_zoo_0_1_readme_registers_and_says_what_to_change(tmp_path) -> None:
    """The plugin of zoo 0.1's README, as its author installed it: a recipe without a dataset
    and with a recipe field that became a part's option."""
    site = tmp_path / "site"
    (site / "my_zoo_plugin").mkdir(parents=True)
    (site / "my_zoo_plugin" / "__init__.py").write_text(PLUGIN_FOR_ZOO_0_1)
    (site / "my_zoo_plugin" / "nets.py").write_text(NETS)
    info = site / "my_zoo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-zoo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nconvnext = my_zoo_plugin\n")

    described = zoo("info", "convnext_nano", "--json", site=site)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["params"] == 170
    checked = run_python(
        "-W",
        "always::DeprecationWarning",
        "-c",
        "import zoo_core as zoo; r = zoo.get_recipe('convnext_nano'); print(r.dataset, r.epochs, r.options)",
        env={"PYTHONPATH": str(site)},
    )
    assert checked.stdout.split() == ["fashion_mnist", "30", "{}"], checked.stderr
    assert "recipe 'default' names no dataset, which is deprecated since zoo 0.2" in checked.stderr
    assert "write Recipe(dataset=NAME, ...)" in checked.stderr
    assert "momentum are options of the parts that read them since zoo 0.2" in checked.stderr
    assert "my_zoo_plugin/__init__.py" in checked.stderr  # the warning points at the plugin's line
