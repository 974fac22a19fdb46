"""The catalogue commands as a user types them: output, JSON, and one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zoo_core as zoo


def test_list_shows_every_model_with_params_input_and_plugin(zoo_cli) -> None:
    result = zoo_cli("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "params", "input", "classes", "plugin"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == set(zoo.list_models())
    assert rows["resnet18"] == ["resnet18", "11,692,520", "3x224x224", "1000", "resnet"]


def test_list_pattern_and_json(zoo_cli) -> None:
    data = json.loads(zoo_cli("list", "lenet*", "--json").output)
    assert [entry["name"] for entry in data] == ["lenet5", "lenet5_bn"]
    assert data[0]["recipe"]["name"] == "flip" and data[0]["recipes"] == ["flip", "augmented", "lesson"]
    result = zoo_cli("list", "nothing*")
    assert result.exit_code == 1
    assert result.output == "Error: no model matches 'nothing*'; run `zoo list` to see them all\n"


def test_info_reports_flops_and_recipe(zoo_cli) -> None:
    data = json.loads(zoo_cli("info", "fashion_cnn", "--json").output)
    # conv1 + conv2 + fc1 + fc2 multiply-adds, two FLOPs each
    macs = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10
    assert data["flops"] == 2 * macs
    assert data["params"] == 421_642
    assert data["plugin"] == "fashion_cnn"
    text = zoo_cli("info", "resnet18_small").output
    assert "FLOPs" in text and "default recipe 'erase' (also: fast)" in text and "onecycle" in text


def test_summary_prints_the_lessons_layer_shapes(zoo_cli) -> None:
    result = zoo_cli("summary", "lenet5")
    assert result.exit_code == 0
    shapes = [line.split()[2] for line in result.output.splitlines()[1:-1]]
    assert shapes[:3] == ["1x6x28x28", "1x6x28x28", "1x6x14x14"]
    assert "1x16x5x5" in shapes and shapes[-1] == "1x10"
    assert result.output.splitlines()[-1] == "input 1x28x28; 61,706 parameters (61,706 trainable)"


def test_summary_at_another_input_size(zoo_cli) -> None:
    result = zoo_cli("summary", "resnet18", "--input-size", "1,96,96", "--num-classes", "10")
    assert result.exit_code == 0
    assert "1x512x3x3" in result.output
    assert result.output.splitlines()[-2].split()[2] == "1x10"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["summary", "lenet5", "--input-size", "28,28"],
            "--input-size must be 3 positive integers separated by commas, got '28,28'",
        ),
        (["summary", "lenet5", "--input-size", "1,2,2"], "lenet5 cannot take a 1x2x2 input"),
        (["info", "lenet"], "unknown model 'lenet'. Did you mean 'lenet5'"),
        (["graph", "lenet5", "-o", "net.txt"], "must end in .svg, .png, .pdf"),
    ],
)
def test_user_mistakes_are_one_line_errors(zoo_cli, args, message) -> None:
    result = zoo_cli(*args)
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ") and message in result.output


def test_plugins_json(zoo_cli) -> None:
    data = json.loads(zoo_cli("plugins", "--json").output)
    lenet = next(p for p in data if p["name"] == "lenet")
    assert lenet == {
        "name": "lenet",
        "module": "zoo_plugins.architectures.lenet",
        "distribution": "zoo-core",
        "version": zoo.__version__,
        "status": "ok",
        "error": None,
        "hooks": ["zoo_register_models"],
        "models": ["lenet5", "lenet5_bn"],
        "datasets": [],
        "exporters": [],
        "optimizers": [],
        "schedules": [],
        "losses": [],
        "augmentations": [],
        "averagers": [],
        "trainers": [],
        "loggers": [],
    }
    onnx = next(p for p in data if p["name"] == "onnx")
    assert onnx["exporters"] == ["onnx"] and onnx["module"] == "zoo_plugins.exporters.onnx"
    fashion = next(p for p in data if p["name"] == "fashion_mnist")
    assert fashion["datasets"] == ["fashion_mnist"] and fashion["hooks"] == ["zoo_register_datasets"]
    run_log = next(p for p in data if p["name"] == "run_log")
    assert run_log["hooks"] == ["zoo_train_end", "zoo_train_epoch_end", "zoo_train_start"]


def test_graph_writes_a_picture(zoo_cli, tmp_path) -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is missing: .ci/run installs the graphviz package")
    out = tmp_path / "lenet5.svg"
    result = zoo_cli("graph", "lenet5", "-o", str(out))
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "Conv2d" in svg
    assert [p.name for p in tmp_path.iterdir()] == ["lenet5.svg"]


def test_graph_without_graphviz_says_how_to_get_it(zoo_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = zoo_cli("graph", "lenet5", "-o", str(tmp_path / "g.png"))
    assert result.exit_code == 1
    assert "needs Graphviz's `dot` program" in result.output and "apt-get install graphviz" in result.output
    assert list(tmp_path.iterdir()) == []


def test_graph_into_a_missing_folder(zoo_cli, tmp_path) -> None:
    result = zoo_cli("graph", "lenet5", "-o", str(tmp_path / "missing" / "g.svg"))
    assert result.exit_code == 1
    assert "output folder" in result.output and "does not exist" in result.output


def test_list_does_not_import_torch() -> None:
    from .helpers import run_python

    result = run_python(
        "-c",
        "import sys; from zoo_core.cli import cli; cli(['list'], standalone_mode=False); "
        "print('torch' in sys.modules)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"


def flags_of(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))


def test_every_recipe_field_and_part_option_is_a_zoo_train_flag(zoo_cli) -> None:
    """The flags are made from the recipe's fields and the parts' options, so none can fall behind."""
    from zoo_core.cli.train import FIELDS_SET_OTHERWISE
    from zoo_core.host.entries import PART_KINDS
    from zoo_core.host.plugins import part_registry

    shown = flags_of(zoo_cli("train", "--help").output)
    fields = {f.name: f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(zoo.Recipe)}
    fields.update(FIELDS_SET_OTHERWISE)
    assert sorted(flag for flag in fields.values() if flag not in shown) == []
    options = {
        o.flag or o.name.replace("_", "-") for k in PART_KINDS for s in part_registry(k) for o in s.options
    }
    assert sorted(f"--{o}" for o in options if f"--{o}" not in shown) == []


def test_recipe_field_flags_reach_the_runs_recipe(zoo_cli, tmp_path) -> None:
    args = ["train", "lenet5", "--dataset", "fashion_mnist", "--input-size", "32", "--val-fraction", "0.1"]
    args += ["--no-tta", "--optimizer", "sgd", "--momentum", "0.8", "--nesterov", "--lr", "0.01"]
    result = zoo_cli(
        *args, "--epochs", "1", "--subset", "300", "--no-progress", "--out", str(tmp_path / "run")
    )
    assert result.exit_code == 0, result.output
    recipe = json.loads((tmp_path / "run" / "recipe.json").read_text())
    assert (recipe["input_size"], recipe["val_fraction"], recipe["tta"]) == ([32, 32], 0.1, False)
    assert (recipe["optimizer"], recipe["options"]) == ("sgd", {"momentum": 0.8, "nesterov": True})
    assert recipe["dataset"] == "fashion_mnist"


def test_a_part_option_flag_for_a_part_the_recipe_does_not_use_is_one_line(zoo_cli) -> None:
    result = zoo_cli("train", "lenet5", "--momentum", "0.9", "--epochs", "1")
    assert result.exit_code == 1
    assert "no part of the recipe takes option 'momentum'" in result.output


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("zoo train res", {"resnet18", "resnet18_small", "resnet34"}),
        ("zoo eval fashion_cnn --weights fash", {"fashion_mnist"}),
        ("zoo train lenet5 --optimizer ada", {"adam", "adamw"}),
        ("zoo train lenet5 --augment flip,sh", {"flip,shift"}),
        ("zoo train lenet5 --dataset fash", {"fashion_mnist"}),
        ("zoo train lenet5 --logger tens", {"tensorboard"}),
    ],
)
def test_shell_completion_offers_registered_names(words: str, offered: set[str]) -> None:
    """What `eval "$(_ZOO_COMPLETE=bash_source zoo)"` asks the command for, as bash asks it."""
    env = {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1), "_ZOO_COMPLETE": "bash_complete"}
    zoo_script = Path(sys.executable).with_name("zoo")  # installed with the package, as the user runs it
    result = subprocess.run([str(zoo_script)], capture_output=True, text=True, env={**os.environ, **env})
    assert {line.partition(",")[2] for line in result.stdout.splitlines()} >= offered, result.stderr
