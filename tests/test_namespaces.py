"""Namespaced model names (``acme/lenet``): a plugin owns its namespace, a second plugin that
claims it is refused, and the slash survives wildcards, suggestions, file and folder names
(exports, runs, bundles, the weights cache) and torch.hub."""

from __future__ import annotations

import json

import pytest
import torch

import zoo_core as zoo
from zoo_core import PluginError, PluginWarning, WeightsInfo
from zoo_core.base.checks import path_name
from zoo_core.host import plugins
from zoo_core.torch_hub import hub_entrypoints

from .helpers import model_plugin

LENET = "zoo_plugins.architectures.lenet.nets:lenet5"


def acme(*names: str) -> object:
    """A plugin that registers each of ``names`` with LeNet-5's builder."""

    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            for name in names:
                register(
                    name, LENET, params=61_706, num_classes=10, in_channels=1, input_size=(28, 28),
                    recipe=zoo.Recipe(dataset="fashion_mnist", epochs=1), description=f"{name}: LeNet-5.",
                )  # fmt: skip

    return Plugin()


@pytest.fixture
def namespaced(fresh_plugins) -> None:
    plugins.get_host().register(acme("acme/lenet", "acme/lenet_wide"), "acme")


def test_a_plugins_namespaced_models_list_build_and_match_wildcards(namespaced, zoo_cli) -> None:
    assert zoo.list_models("acme/*") == ["acme/lenet", "acme/lenet_wide"]
    assert zoo.list_models("*/lenet*") == ["acme/lenet", "acme/lenet_wide"]
    assert "lenet5" in zoo.list_models() and "acme/lenet" in zoo.list_models()
    model = zoo.create_model("acme/lenet", num_classes=3)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 3)
    listed = zoo_cli("list", "acme/*")
    assert listed.exit_code == 0 and "acme/lenet_wide" in listed.output and "lenet5 " not in listed.output
    with pytest.raises(zoo.UnknownModelError, match="Did you mean 'acme/lenet'"):
        zoo.get_model_spec("acme/lenett")
    assert plugins.get_host().registry.namespaces()["acme"].plugin == "acme"


def test_a_second_plugin_cannot_register_in_a_namespace_another_owns(namespaced) -> None:
    plugins.get_host().register(acme("acme/intruder"), "intruder")
    with pytest.raises(PluginError, match="the namespace 'acme' belongs to plugin acme"):
        zoo.list_models()


@pytest.mark.parametrize(
    "name", ["acme/LeNet", "acme/lenet/v2", "/lenet", "acme/", "acme-x/lenet", "acme//x"]
)
def test_a_malformed_namespaced_name_is_refused_naming_the_rule(fresh_plugins, name) -> None:
    plugins.get_host().register(model_plugin(name, LENET), "bad")
    with pytest.warns(PluginWarning, match="optionally after a plugin's namespace and a slash"):
        assert name not in zoo.list_models()


def test_only_models_take_namespaces(fresh_plugins) -> None:
    class Plugin:
        @zoo.hookimpl
        def zoo_register_datasets(self, register):
            register("acme/digits", "x:y", classes=("a", "b"), in_channels=1, image_size=(8, 8),
                     mean=(0.5,), std=(0.5,), description="Digits.")  # fmt: skip

    plugins.get_host().register(Plugin(), "acme_data")
    with pytest.warns(
        PluginWarning, match="a dataset name must be lowercase letters, digits and underscores, st"
    ):
        assert "acme/digits" not in zoo.list_datasets()


def test_namespaced_names_become_one_path_segment_and_weights_keep_the_slash() -> None:
    assert path_name("acme/lenet") == "acme--lenet" and path_name("lenet5") == "lenet5"
    info = WeightsInfo(model="acme/lenet", num_classes=10, in_channels=1, input_size=(28, 28))
    assert WeightsInfo.from_metadata(info.to_metadata()).model == "acme/lenet"


def test_a_namespaced_model_exports_trains_publishes_and_pulls_under_one_segment_names(
    namespaced, zoo_cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exported = zoo_cli("export", "acme/lenet", "--onnx", "--out", ".")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "acme--lenet.onnx").is_file()

    trained = zoo_cli("train", "acme/lenet", "--subset", "300", "--no-progress")
    assert trained.exit_code == 0, trained.output
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("acme--lenet-")

    published = zoo_cli("publish", str(run), "--tag", "v1", "--to", "hub")
    assert published.exit_code == 0, published.output
    assert (tmp_path / "hub" / "acme--lenet" / "v1" / "model.safetensors").is_file()
    (entry,) = json.loads((tmp_path / "hub" / "manifest.json").read_text())["weights"]
    assert entry["model"] == "acme/lenet" and entry["url"] == "acme--lenet/v1/model.safetensors"
    assert 'href="acme--lenet/v1/index.html"' in (tmp_path / "hub" / "index.html").read_text()

    pulled = zoo_cli("pull", "acme/lenet", "--weights", "v1", "--hub", str(tmp_path / "hub"))
    assert pulled.exit_code == 0, pulled.output
    model = zoo.create_model("acme/lenet", weights="v1")
    assert model.zoo_weights.model == "acme/lenet" and model.zoo_weights.tag == "v1"
    assert model.zoo_weights.file.name.startswith("acme--lenet-v1-")


def test_torch_hub_reaches_a_namespaced_model_through_create(namespaced) -> None:
    entries = hub_entrypoints()
    assert "acme/lenet" not in entries and "lenet5" in entries
    model = entries["create"]("acme/lenet", num_classes=4)
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 4)
    assert "timm/resnet50" in entries["create"].__doc__
