"""Quantized ONNX exports: int8 calibrated on training images and fp16, each gated on top-1
accuracy over real held-out images, onnxruntime against torch."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from zoo_core import DatasetNotFoundError, export_model, get_weights, hookimpl
from zoo_core.host import plugins
from zoo_core.models.catalogue import get_recipe

from .helpers import model_plugin, train_on_two_tones


def metadata(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_int8_fashion_cnn_keeps_its_accuracy_on_the_test_split(zoo_cli, tmp_path: Path) -> None:
    result = zoo_cli(
        *("export", "fashion_cnn", "--weights", "fashion_mnist", "--onnx", "--quantize", "int8"),
        *("--out", str(tmp_path), "--json"),
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert Path(report["path"]).name == "fashion_cnn.int8.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fashion_cnn.int8.onnx",
        "fashion_cnn.int8.parity.json",
    ]
    assert report["parity"]["passed"]  # the fp32 graph's numerical gate ran first
    accuracy = report["quantization"]["accuracy"]
    assert accuracy["images"] == 10_000 and accuracy["data"] == "fashion_mnist, test split"
    card = get_weights("fashion_cnn", "fashion_mnist").metrics["test_accuracy"]  # single pass
    assert accuracy["torch_accuracy"] == pytest.approx(card, abs=1e-4)
    assert 0 <= accuracy["drop_points"] <= 0.5 and accuracy["passed"]
    assert 0.95 < accuracy["agreement"] < 1  # rounded weights change some predictions
    assert "calibrated on 512 training images of fashion_mnist" in report["quantization"]["method"]
    found = metadata(tmp_path / "fashion_cnn.int8.onnx")
    assert found["precision"] == "int8" and found["model"] == "fashion_cnn"
    assert float(found["accuracy_onnxruntime"]) == pytest.approx(accuracy["exported_accuracy"], abs=1e-4)
    nodes = {n.op_type for n in onnx.load(str(tmp_path / "fashion_cnn.int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= nodes


def test_fp16_lenet5_is_half_the_size_and_loses_almost_nothing(tmp_path: Path) -> None:
    (fp32,) = export_model("lenet5", ["onnx"], tmp_path, weights="fashion_mnist")
    (fp16,) = export_model(
        "lenet5", ["onnx"], tmp_path, weights="fashion_mnist", options={"quantize": "fp16"}
    )
    assert Path(fp16["path"]).name == "lenet5.fp16.onnx" and Path(fp32["path"]).exists()
    assert fp16["bytes"] < 0.6 * fp32["bytes"]
    accuracy = fp16["quantization"]["accuracy"]
    assert accuracy["passed"] and abs(accuracy["drop_points"]) <= 0.05
    graph = onnx.load(fp16["path"]).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 in and out
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer)


def test_quantize_choices_are_checked_and_named_in_help(zoo_cli) -> None:
    result = zoo_cli("export", "lenet5", "--onnx", "--quantize", "int4")
    assert result.exit_code == 2 and "'int4' is not one of 'none', 'int8', 'fp16'" in result.output
    assert "NAME.int8.onnx" in " ".join(zoo_cli("export", "--help").output.split())


class Elsewhere:
    """A dataset no copy of which is on this machine."""

    @hookimpl
    def zoo_register_datasets(self, register):
        def load(*, data_dir, download):
            raise DatasetNotFoundError("elsewhere is not on this machine; download it from example.org")

        register(
            "elsewhere",
            load,
            classes=tuple("abcdefghij"),
            in_channels=1,
            image_size=(28, 28),
            description="Not here.",
        )


@pytest.fixture
def model_of_missing_data(fresh_plugins):
    host = plugins.get_host()
    host.register(Elsewhere(), "elsewhere")
    host.register(
        model_plugin(
            "lost",
            "zoo_plugins.architectures.lenet.nets:lenet5",
            params=61706,
            recipe=get_recipe("lenet5").replace(dataset="elsewhere"),
        ),
        "lost",
    )


def test_without_its_dataset_fp16_says_so_and_int8_refuses(model_of_missing_data, tmp_path, zoo_cli) -> None:
    (report,) = export_model("lost", ["onnx"], tmp_path, options={"quantize": "fp16"})
    assert report["quantization"]["accuracy"] == {
        "passed": None,
        "reason": "not checked: elsewhere is not on this machine; download it from example.org",
    }
    result = zoo_cli("export", "lost", "--onnx", "--quantize", "int8", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: int8 needs calibration images, and elsewhere is not on this machine; "
        "download it from example.org\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lost.fp16.onnx", "lost.fp16.parity.json"]


def test_int8_of_folder_weights_calibrates_on_the_folder(tmp_path, zoo_cli) -> None:
    folder, weights = train_on_two_tones(tmp_path)
    (tmp_path / "out").mkdir()
    result = zoo_cli(
        *("export", "fashion_cnn", "--weights", str(weights), "--onnx", "--quantize", "int8"),
        *("--data", str(folder), "--out", str(tmp_path / "out"), "--json"),
    )
    assert result.exit_code == 0, result.output
    quantization = json.loads(result.stdout)[0]["quantization"]
    assert f"calibrated on 64 training images of image_folder at {folder}" in quantization["method"]
    assert quantization["accuracy"]["images"] == 40 and quantization["accuracy"]["exported_accuracy"] == 1.0
