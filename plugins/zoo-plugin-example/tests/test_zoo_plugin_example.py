"""The example package: its model builds with the declared size, its weights come from its own
hub, and its exporter writes an archive that holds the model's tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import zoo_core as zoo

HUB = Path(__file__).resolve().parents[1] / "hub"


def test_tinynet_builds_with_its_declared_parameter_count(tinynet_registered) -> None:
    spec = zoo.get_model_spec("tinynet")
    model = zoo.create_model("tinynet")
    assert sum(p.numel() for p in model.parameters()) == spec.params
    assert [w.tag for w in spec.weights] == ["fashion_mnist"]


def test_its_weights_come_from_its_own_hub(tinynet_registered, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ZOO_HUB", str(HUB))
    model = zoo.create_model("tinynet", weights="fashion_mnist")
    assert model.zoo_weights.tag == "fashion_mnist" and model.zoo_weights.num_classes == 10


def test_the_npz_exporter_writes_the_models_tensors(tinynet_registered, tmp_path) -> None:
    (report,) = zoo.export_model("tinynet", ["npz"], tmp_path, options={"compress": True})
    archive = np.load(report["path"])
    state = zoo.create_model("tinynet").state_dict()
    assert set(state) <= set(archive.files)
    assert all(archive[key].shape == tuple(tensor.shape) for key, tensor in state.items())
