"""The plugin manager: attribution, isolation of broken plugins, duplicates, strict mode."""

from __future__ import annotations

import pytest
import torch

import zoo_core as zoo
from zoo_core import Recipe, hookimpl
from zoo_core.base.errors import BuilderArgumentError, PluginError, PluginWarning, UnknownModelError
from zoo_core.host import plugins
from zoo_core.host.plugins import PluginHost, discover_entry_points, source_tree_entry_points
from zoo_core.host.registry import PluginOrigin

from .helpers import model_plugin

BUILTIN_PLUGINS = {
    "alexnet",
    "distill",
    "ema",
    "fashion_cnn",
    "fashion_mnist",
    "googlenet",
    "image_folder",
    "lenet",
    "log_files",
    "onnx",
    "pt2",
    "resnet",
    "run_log",
    "safetensors",
    "training",
    "vgg",
}


def toy(*, num_classes: int = 2, in_channels: int = 1, hidden: int = 4) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(in_channels * 4, hidden), torch.nn.Linear(hidden, num_classes)
    )


def toy_plugin(name: str = "toy", **overrides):
    defaults = {"params": 30, "num_classes": 2, "input_size": (2, 2), "description": "A toy."}
    return model_plugin(name, toy, **{**defaults, **overrides})


class Raises:
    @hookimpl
    def zoo_register_models(self, register):
        register(
            "half_done",
            toy,
            params=30,
            recipe=Recipe(dataset="fashion_mnist"),
            description="Registered before the crash.",
        )
        raise RuntimeError("boom")


class Misspelt:
    @hookimpl
    def zoo_registr_models(self, register):
        pass


def test_builtin_plugins_come_through_entry_points() -> None:
    found = {ep.name: origin for ep, origin in discover_entry_points()}
    assert set(found) >= BUILTIN_PLUGINS
    assert all(found[name].distribution.startswith("zoo") for name in BUILTIN_PLUGINS)
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert infos["resnet"].models == ["resnet18", "resnet34", "resnet18_small"]
    assert infos["resnet"].hooks == ["zoo_register_models"]
    assert zoo.get_model_spec("lenet5").origin.plugin == "lenet"


def test_source_checkout_declares_the_same_entry_points() -> None:
    in_tree = {ep.name: ep.value for ep, _ in source_tree_entry_points(plugins.SOURCE_PYPROJECT)}
    installed = {
        ep.name: ep.value for ep, origin in discover_entry_points() if origin.distribution == "zoo-core"
    }
    assert in_tree == installed


def test_uninstalled_checkout_loads_its_plugins_from_pyproject(monkeypatch, fresh_plugins) -> None:
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [])
    assert {ep.name for ep, _ in discover_entry_points()} == BUILTIN_PLUGINS
    assert "resnet18" in zoo.list_models()
    assert zoo.get_model_spec("resnet18").origin.distribution == "zoo-core (source tree)"


def test_list_models_filters_with_wildcards() -> None:
    assert zoo.list_models("vgg1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert zoo.list_models("res*") == ["resnet18", "resnet18_small", "resnet34"]
    assert zoo.list_models("nothing*") == []


def test_unknown_model_suggests_close_names() -> None:
    expected = r"unknown model 'resnet81'\. Did you mean 'resnet18'"
    with pytest.raises(UnknownModelError, match=expected) as info:
        zoo.create_model("resnet81")
    assert isinstance(info.value, KeyError)


def test_unknown_builder_argument_names_the_accepted_ones() -> None:
    with pytest.raises(
        BuilderArgumentError, match="lenet5 does not accept 'depth'; it accepts: num_classes, in_channels"
    ):
        zoo.create_model("lenet5", depth=3)
    with pytest.raises(BuilderArgumentError, match="num_classes must be a positive integer"):
        zoo.create_model("lenet5", num_classes=0)


def test_registrations_are_attributed_to_their_plugin() -> None:
    host = PluginHost(strict=False)
    host.register(toy_plugin(), "toys", origin=PluginOrigin("toys", "zoo-toys", "1.2"))
    spec = host.registry.get("toy")
    assert str(spec.origin) == "toys (zoo-toys 1.2)"
    assert host.infos["toys"].models == ["toy"]


def test_a_plugin_that_raises_registers_nothing_and_the_rest_still_work() -> None:
    host = PluginHost(strict=False)
    host.register(toy_plugin(), "toys")
    host.register(Raises(), "raises")
    with pytest.warns(
        PluginWarning, match="zoo plugin raises failed while registering models: RuntimeError: boom"
    ):
        names = host.registry.names()
    assert names == ["toy"]
    assert host.infos["raises"].status == "failed"
    assert host.infos["raises"].error == "RuntimeError: boom"


def test_strict_mode_turns_a_broken_plugin_into_an_error(monkeypatch) -> None:
    monkeypatch.setenv("ZOO_STRICT_PLUGINS", "1")
    host = PluginHost()
    host.register(Raises(), "raises")
    with pytest.raises(PluginError, match=r"raises failed while registering models.*ZOO_STRICT_PLUGINS"):
        host.registry  # noqa: B018


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    host = PluginHost(strict=False)
    host.register(toy_plugin(), "first", origin=PluginOrigin("first", "zoo-first", "1.0"))
    host.register(toy_plugin(), "second", origin=PluginOrigin("second", "zoo-second", "2.0"))
    with pytest.raises(
        PluginError,
        match=r"'toy' is registered by both plugin first \(zoo-first 1\.0\) "
        r"and plugin second \(zoo-second 2\.0\)",
    ):
        host.registry  # noqa: B018


def test_misspelt_hook_is_rejected_and_named() -> None:
    host = PluginHost(strict=False)
    with pytest.warns(
        PluginWarning,
        match="unknown hook zoo_registr_models; known hooks: zoo_register_augmentations, .*_register_models",
    ):
        info = host.register(Misspelt(), "misspelt")
    assert info.status == "failed"
    assert host.pm.get_plugin("misspelt") is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "ResNet"}, "lowercase letters, digits and underscores"),
        ({"params": 0}, "params must be a positive integer"),
        ({"recipe": {"lr": 1}}, "recipe and recipes must be zoo_core.Recipe objects"),
        ({"input_size": (28,)}, r"input_size must be \(height, width\)"),
        ({"description": " "}, "description must be a non-empty string"),
    ],
)
def test_invalid_registrations_fail_the_plugin_with_a_reason(overrides, message) -> None:
    host = PluginHost(strict=False)
    host.register(toy_plugin(**overrides), "bad")
    with pytest.warns(PluginWarning, match=message):
        assert host.registry.names() == []


def test_registering_a_test_plugin_on_the_global_host(fresh_plugins) -> None:
    plugins.get_host().register(toy_plugin(), "toys")
    try:
        model = zoo.create_model("toy", hidden=3)
        assert model(torch.zeros(1, 1, 2, 2)).shape == (1, 2)
    finally:
        plugins.get_host().unregister("toys")
    assert "toy" not in zoo.list_models()
