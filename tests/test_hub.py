"""torch.hub from a checkout: every registered model is an entry point with a docstring."""

from __future__ import annotations

import pytest
import torch

import zoo_core as zoo
from zoo_core import PluginError
from zoo_core.host import plugins
from zoo_core.torch_hub import hub_entrypoints

from .helpers import ROOT, model_plugin, run_python


def test_hub_load_from_a_local_checkout() -> None:
    model = torch.hub.load(str(ROOT), "lenet5_bn", source="local", trust_repo=True, num_classes=4)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 4)


def test_every_registered_model_is_a_hub_entry_point_with_help() -> None:
    import hubconf

    for name in zoo.list_models():
        entry = getattr(hubconf, name)
        assert callable(entry)
        assert zoo.get_model_spec(name).description in entry.__doc__
    assert "zoo info resnet18_small" in hubconf.resnet18_small.__doc__
    assert "torch" in hubconf.dependencies


def test_a_plugin_with_a_broken_builder_costs_torch_hub_only_its_own_model(fresh_plugins) -> None:
    broken = model_plugin(
        "broken_net", "zoo_no_such_module.nets:broken_net", description="A model whose code is missing."
    )
    plugins.get_host().register(broken, "broken")
    entries = hub_entrypoints()
    assert "A model whose code is missing." in entries["broken_net"].__doc__
    assert entries["lenet5"](num_classes=3)(torch.zeros(1, 1, 28, 28)).shape == (1, 3)
    with pytest.raises(PluginError, match="zoo_no_such_module"):
        entries["broken_net"]()


def test_a_missing_dependency_gives_torch_hubs_own_message() -> None:
    code = (
        "import sys, torch; sys.modules['pluggy'] = None\n"  # as if pluggy were not installed
        f"torch.hub.load({str(ROOT)!r}, 'lenet5', source='local', trust_repo=True)"
    )
    result = run_python("-c", code)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "RuntimeError: Missing dependencies: pluggy"
