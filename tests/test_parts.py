"""Models with named parts: features and head, stage feature maps, a head that can be reset."""

from __future__ import annotations

import re

import pytest
import torch

import zoo_core as zoo
from zoo_core import ZooError
from zoo_core.models.named_parts import FeatureMaps, has_parts

from .helpers import ROOT


def documented_shapes() -> dict[str, list[tuple[int, int, int]]]:
    """The table of stage shapes in docs/architecture.md: model | shapes (C x H x W, ...)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("<!-- feature-maps -->")[1]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, flags=re.M)
    return {
        name: [tuple(int(v) for v in shape.split("x")) for shape in shapes.split(", ")]
        for name, shapes in rows
    }


# the built-in models, whatever other plugins are installed
BUILT_IN = [n for n in zoo.list_models() if "zoo-core" in str(zoo.get_model_spec(n).origin.distribution)]


@pytest.mark.parametrize("name", BUILT_IN)
def test_features_only_gives_the_stages_the_model_declares(name: str) -> None:
    spec = zoo.get_model_spec(name)
    model = zoo.create_model(name, features_only=True).eval()
    with torch.no_grad():
        maps = model(torch.randn(2, *spec.input_shape))
    assert [m.shape[1] for m in maps] == [s["num_chs"] for s in model.feature_info]
    stages = zip(maps, model.feature_info, strict=True)
    assert all(m.shape[2] <= spec.input_size[0] // s["reduction"] + 1 for m, s in stages)
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())  # the head is gone


@pytest.mark.parametrize("name", sorted(documented_shapes()))
def test_the_documented_stage_shapes_are_those_models_give(name: str) -> None:
    spec = zoo.get_model_spec(name)
    model = zoo.create_model(name, features_only=True).eval()
    with torch.no_grad():
        maps = model(torch.randn(2, *spec.input_shape))
    assert [tuple(m.shape[1:]) for m in maps] == documented_shapes()[name]


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_head_on_the_features_is_the_whole_model(name: str) -> None:
    spec = zoo.get_model_spec(name)
    model = zoo.create_model(name).eval()
    assert has_parts(model)
    x = torch.randn(2, *spec.input_shape)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_head(model.forward_features(x)), model(x), rtol=0, atol=0)


def test_out_indices_pick_stages_and_bad_ones_say_how_many_there_are() -> None:
    model = zoo.create_model("resnet18_small", features_only=True, out_indices=(1, -1)).eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 1, 28, 28))
    assert [tuple(m.shape[1:]) for m in maps] == [(128, 14, 14), (512, 4, 4)]
    with pytest.raises(ZooError, match=r"it has 4 \(0 to 3\)"):
        zoo.create_model("resnet18_small", features_only=True, out_indices=(4,))
    with pytest.raises(ZooError, match="give it with features_only=True"):
        zoo.create_model("resnet18_small", out_indices=(1,))


def test_features_only_with_trained_weights_keeps_them() -> None:
    trained = zoo.create_model("fashion_cnn", weights="fashion_mnist")
    maps = zoo.create_model("fashion_cnn", weights="fashion_mnist", features_only=True)
    assert torch.equal(maps.body.get_submodule("0").weight, trained.get_submodule("0").weight)
    assert maps.zoo_weights.tag == "fashion_mnist"


def test_reset_classifier_keeps_every_feature_weight_bit_for_bit() -> None:
    model = zoo.create_model("lenet5_bn", weights="fashion_mnist").eval()  # batch norm's stats stay
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_classifier(3)
    after = model.state_dict()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 3)
    head = [k for k in before if k.startswith(f"{len(model) - 1}.")]
    assert head and all(after[k].shape != before[k].shape for k in head if k.endswith("weight"))
    assert all(torch.equal(after[k], before[k]) for k in before if k not in head)
    model.reset_classifier(0)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 84)  # the penultimate features


def test_a_model_without_parts_cannot_give_feature_maps() -> None:
    with pytest.raises(ZooError, match="has no named parts"):
        FeatureMaps(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


def test_zoo_info_says_which_stages_a_model_offers(zoo_cli) -> None:
    result = zoo_cli("info", "resnet18_small")
    assert "4 stages (64@/1, 128@/2, 256@/4, 512@/8" in result.output
    assert zoo_cli("info", "vgg11", "--json").output.count('"num_chs"') == 5
