"""Exporting: every model to safetensors and parity-checked ONNX, and every failure path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import zoo_core as zoo
from zoo_core import ExportError, Recipe, export_model, exporter_names, hookimpl, load_weights
from zoo_core.host import plugins
from zoo_core.store.weights import file_sha256
from zoo_plugins.exporters.onnx import ort_session


def check_files(reports: list[dict], out: Path) -> None:
    for report in reports:
        assert Path(report["path"]).stat().st_size == report["bytes"]
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_exports_to_both_formats_at_its_training_size(name: str, tmp_path: Path) -> None:
    size = zoo.get_model_spec(name).recipe.input_size
    reports = export_model(name, ["safetensors", "onnx"], tmp_path, num_classes=10, input_size=size)
    check_files(reports, tmp_path)
    safetensors, onnx_report = reports
    assert safetensors["check"] == "reloaded strictly into a fresh model"
    parity = onnx_report["parity"]
    assert parity["passed"] is True
    assert [r["batch_size"] for r in parity["batches"]] == [1, 3, 8]
    assert all(r["max_abs_diff"] <= 1e-4 + 1e-3 * 100 for r in parity["batches"])
    assert json.loads((tmp_path / f"{name}.parity.json").read_text())["parity"]["passed"] is True


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "googlenet"])
def test_the_lessons_224_configurations_export(name: str, tmp_path: Path) -> None:
    (report,) = export_model(name, ["onnx"], tmp_path)
    assert report["parity"]["passed"] is True
    proto = onnx.load(report["path"], load_external_data=False)
    dims = [d.dim_value or d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [3, 224, 224]


def test_zoo_export_resnet18_onnx_from_the_cli(zoo_cli, tmp_path: Path) -> None:
    result = zoo_cli("export", "resnet18", "--onnx", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "onnx:" in result.output and "pass" in result.output and "FAIL" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resnet18.onnx", "resnet18.parity.json"]
    proto = onnx.load(tmp_path / "resnet18.onnx")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["model"] == "resnet18" and meta["num_classes"] == "1000" and meta["opset"] == "18"
    assert json.loads(meta["input_size"]) == [224, 224]
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a dynamic batch axis


def test_onnx_metadata_carries_labels_and_normalisation(tmp_path: Path) -> None:
    export_model("lenet5", ["onnx", "safetensors"], tmp_path)
    meta = {p.key: p.value for p in onnx.load(tmp_path / "lenet5.onnx").metadata_props}
    assert json.loads(meta["labels"])[9] == "Ankle boot"
    assert json.loads(meta["mean"]) == [0.5] and json.loads(meta["std"]) == [0.5]
    session = ort_session(tmp_path / "lenet5.onnx")
    out = session.run(None, {"input": np.zeros((5, 1, 28, 28), np.float32)})[0]
    assert out.shape == (5, 10)
    _, st_meta = load_weights(tmp_path / "lenet5.safetensors")
    assert st_meta["labels"] == meta["labels"] and st_meta["plugin"].startswith("lenet")


def test_both_formats_by_default_and_json_report(zoo_cli, tmp_path: Path) -> None:
    result = zoo_cli("export", "fashion_cnn", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    reports = {r["format"]: r for r in json.loads(result.output)}
    assert sorted(reports) == ["onnx", "safetensors"]
    assert all(len(r["sha256"]) == 64 for r in reports.values())
    assert set(reports["onnx"]["versions"]) == {"torch", "onnx", "onnxscript", "onnxruntime"}


def test_no_check_says_so_in_the_report(zoo_cli, tmp_path: Path) -> None:
    result = zoo_cli("export", "lenet5", "--onnx", "--no-check", "--out", str(tmp_path), "--json")
    (report,) = json.loads(result.output)
    assert report["parity"] == {"passed": None, "reason": "not checked (--no-check)"}


def test_exporter_options_get_their_defaults_and_a_zero_tolerance_is_kept(tmp_path: Path) -> None:
    (report,) = export_model("lenet5", ["onnx"], tmp_path)
    assert (report["opset"], report["parity"]["atol"], report["parity"]["rtol"]) == (18, 1e-4, 1e-3)
    strict = tmp_path / "strict"
    strict.mkdir()
    try:
        (report,) = export_model("lenet5", ["onnx"], strict, options={"atol": 0, "rtol": 0.0})
    except ExportError as exc:  # any difference at all fails a zero tolerance
        report = exc.report
        assert list(strict.iterdir()) == []
    assert (report["parity"]["atol"], report["parity"]["rtol"]) == (0.0, 0.0)


class Noisy(torch.nn.Module):
    """Adds fresh noise to its logits: torch and onnxruntime can never agree."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, 4, 3)
        self.fc = torch.nn.Linear(4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(self.conv(x).mean((2, 3)))
        return logits + 10 * torch.randn_like(logits)


class Branchy(Noisy):
    """Branches in Python on a tensor's value, which torch.export cannot trace."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.fc(self.conv(x).mean((2, 3)))
        return -self.fc(self.conv(x).mean((2, 3)))


class BadModels:
    @hookimpl
    def zoo_register_models(self, register):
        common = dict(
            recipe=Recipe(dataset="fashion_mnist"),
            num_classes=10,
            in_channels=1,
            input_size=(28, 28),
            params=90,
        )
        register("noisy", Noisy, description="Nondeterministic logits.", **common)
        register("branchy", Branchy, description="Not exportable.", **common)


@pytest.fixture
def bad_models(fresh_plugins):
    plugins.get_host().register(BadModels(), "bad_models")


def test_a_model_failing_parity_leaves_no_file(zoo_cli, tmp_path: Path, bad_models) -> None:
    result = zoo_cli("export", "noisy", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "Error: ONNX parity check failed for noisy: at batch size 1 the max difference" in result.output
    assert "FAIL" in result.output  # the parity table says why
    assert "safetensors: " in result.output  # a format that fails does not stop the others
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noisy.safetensors"]


def test_an_exporter_error_leaves_no_file(zoo_cli, tmp_path: Path, bad_models) -> None:
    result = zoo_cli("export", "branchy", "--onnx", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: torch.onnx.export failed for branchy")
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resnt18"], "unknown model 'resnt18'. Did you mean 'resnet18'"),
        (["lenet5", "--input-size", "28"], "--input-size must be 2 positive integers separated by commas"),
        (["lenet5", "--input-size", "2,2"], "lenet5 cannot take a 1x2x2 input"),
        (["lenet5", "--format", "tflite"], "unknown exporter 'tflite'"),
        (["lenet5", "--out", "/proc"], "cannot write to /proc"),
        (["lenet5", "--out", "/nonexistent/folder"], "output folder /nonexistent/folder does not exist"),
        (
            ["lenet5", "--weights", "/nonexistent.safetensors"],
            "weights file /nonexistent.safetensors does not exist",
        ),
    ],
)
def test_export_mistakes_are_one_line_errors(zoo_cli, args, message) -> None:
    result = zoo_cli("export", *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_export_help_lists_the_registered_formats(zoo_cli) -> None:
    text = " ".join(zoo_cli("export", "--help").output.split())
    listed = re.search(r"Export format, repeatable: ([a-z0-9_, ]+)\.", text)
    assert listed and {"onnx", "pt2", "safetensors"} <= set(listed.group(1).split(", "))  # and any plugin's
    assert listed.group(1).split(", ") == exporter_names()


def test_bench_times_three_runtimes(zoo_cli) -> None:
    result = zoo_cli("bench", "fashion_cnn", "--batch-sizes", "1,4", "--seconds", "0.05", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {(r["runtime"], r["batch"]): r for r in data["rows"]}
    assert set(rows) == {
        (rt, b) for rt in ("torch eager", "torch channels_last", "onnxruntime") for b in (1, 4)
    }
    for r in rows.values():
        assert r["p50_ms"] > 0 and r["p90_ms"] >= r["p50_ms"] and r["blocks"] >= 7
        assert r["spread"] == pytest.approx(r["p90_ms"] / r["p50_ms"])
        eager = rows[("torch eager", r["batch"])]["images_per_s"]
        assert r["vs_eager"] == pytest.approx(r["images_per_s"] / eager)
    assert "flags:" in data["machine"]  # every figure names the machine
    text = zoo_cli("bench", "lenet5", "--batch-sizes", "2", "--seconds", "0.02").output
    assert "onnxruntime" in text and "images/s" in text and "x eager" in text


def test_bench_adds_rows_for_quantized_files(zoo_cli) -> None:
    result = zoo_cli(
        *("bench", "lenet5", "--weights", "fashion_mnist", "--quantize", "int8,fp16"),
        *("--batch-sizes", "8", "--seconds", "0.05", "--json"),
    )
    assert result.exit_code == 0, result.output
    runtimes = [r["runtime"] for r in json.loads(result.output)["rows"]]
    assert runtimes == [
        "torch eager",
        "torch channels_last",
        "onnxruntime",
        "onnxruntime int8",
        "onnxruntime fp16",
    ]
    wrong = zoo_cli("bench", "lenet5", "--quantize", "int4")
    assert (
        wrong.exit_code == 1 and "--quantize takes int8 or fp16, comma-separated; got 'int4'" in wrong.output
    )


def test_dynamic_size_exports_run_at_other_sizes(zoo_cli, tmp_path: Path) -> None:
    result = zoo_cli(
        *("export", "resnet18_small", "--onnx", "--pt2", "--safetensors", "--dynamic-size"),
        *("--out", str(tmp_path), "--json"),
    )
    assert result.exit_code == 0, result.output
    onnx_report, pt2_report, _ = json.loads(result.stdout)
    checked = {(r["input"], r["batch_size"]) for r in onnx_report["parity"]["batches"]}
    assert {("1x42x42", 2), ("1x56x56", 2), ("1x28x28", 8)} <= checked
    assert "1x56x56 at batch 1, 2" in pt2_report["check"]
    proto = onnx.load(str(tmp_path / "resnet18_small.onnx"))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "height", "width"]
    fresh = zoo.create_model("resnet18_small", weights=tmp_path / "resnet18_small.safetensors").eval()
    x = torch.randn(3, 1, 36, 52)
    got = ort_session(tmp_path / "resnet18_small.onnx").run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        assert np.allclose(got, fresh(x).numpy(), atol=1e-4, rtol=1e-3)
    program = torch.export.load(tmp_path / "resnet18_small.pt2").module()
    with torch.no_grad():
        assert torch.allclose(program(x), fresh(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_exports_an_exported_program_that_runs_without_the_zoo(name: str, tmp_path: Path) -> None:
    spec = zoo.get_model_spec(name)
    (report,) = export_model(name, ["pt2"], tmp_path)
    check_files([report], tmp_path)
    shape = "x".join(map(str, spec.input_shape))
    assert (
        report["check"]
        == f"reloaded with torch.export.load, logits match for inputs {shape} at batch 1, 3, 8"
    )
    program = torch.export.load(report["path"])
    model = zoo.create_model(name).eval()
    model.load_state_dict(program.state_dict, strict=False)  # the program holds the exported weights
    x = torch.randn(5, *spec.input_shape)  # a batch size the parity gate did not use
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), model(x), atol=1e-5, rtol=1e-4)


def test_a_pt2_parity_failure_keeps_no_file(tmp_path: Path, monkeypatch) -> None:
    real_load = torch.export.load

    def drifted(path):  # a program whose reload gives other logits than the model
        program = real_load(path)
        module = program.module()
        return type("Loaded", (), {"module": lambda self: lambda x: module(x) + 1.0})()

    monkeypatch.setattr(torch.export, "load", drifted)
    with pytest.raises(ExportError, match="pt2 parity failed for lenet5 at batch 1"):
        export_model("lenet5", ["pt2"], tmp_path)
    assert list(tmp_path.iterdir()) == []


FORMATS = ("--safetensors", "--onnx", "--pt2")


def export_process(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zoo_core", "export", "lenet5", "--weights", "fashion_mnist", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out,
    )


def test_the_same_weights_exported_twice_give_the_same_bytes(tmp_path: Path) -> None:
    """Each export in a process of its own: safetensors writes its header in hash-map order and
    torch.export names its archive after the file, both of which differ between processes."""
    hashes = []
    for out in (tmp_path / "first", tmp_path / "second"):
        out.mkdir()
        export = export_process(out, *FORMATS, "--out", str(out))
        stdout, stderr = export.communicate(timeout=300)
        assert export.returncode == 0, stderr
        hashes.append({Path(r["path"]).name: r["sha256"] for r in json.loads(stdout)})
    assert hashes[0] == hashes[1] and len(hashes[0]) == 3
    on_disk = {name: file_sha256(tmp_path / "second" / name) for name in hashes[1]}
    assert hashes[0] == on_disk


@pytest.mark.parametrize("force", [False, True])
def test_two_exports_to_one_folder_at_once_never_report_a_hash_not_on_disk(force, tmp_path: Path) -> None:
    flags = ["--onnx", "--out", ".", *(["--force"] if force else [])]
    both = [export_process(tmp_path, *flags) for _ in range(2)]
    results = [(*p.communicate(timeout=300), p.returncode) for p in both]
    succeeded = [json.loads(stdout) for stdout, _, code in results if code == 0]
    failed = [stderr for _, stderr, code in results if code != 0]
    assert len(succeeded) >= 1 and (force or len(succeeded) == 1), results
    for (report,) in succeeded:
        assert report["sha256"] == file_sha256(tmp_path / "lenet5.onnx")
    for stderr in failed:
        assert re.search(
            r"lenet5\.(onnx|parity\.json) (already exists|appeared while this export ran|was replaced)",
            stderr,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.onnx", "lenet5.parity.json"]
