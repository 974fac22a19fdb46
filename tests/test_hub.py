"""torch.hub from a checkout: every registered model is an entry point with a docstring."""

from __future__ import annotations

import torch

import zoo_core as zoo

from .helpers import ROOT


def test_hub_load_from_a_local_checkout() -> None:
    model = torch.hub.load(str(ROOT), "lenet5_bn", source="local", trust_repo=True, num_classes=4)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 4)


def test_every_registered_model_is_a_hub_entry_point_with_help() -> None:
    import hubconf

    for name in zoo.list_models():
        entry = getattr(hubconf, name)
        assert callable(entry)
        assert zoo.get_model_spec(name).description in entry.__doc__
    assert "width" in hubconf.resnet18_small.__doc__
    assert "torch" in hubconf.dependencies
