"""Every built-in architecture: the lesson's parameter counts, forward and backward passes."""

from __future__ import annotations

import pytest
import torch

import zoo_core as zoo

# The parameter counts of the lesson's networks at the lesson's configurations.
LESSON_PARAMS = {
    "fashion_cnn": 421_642,
    "lenet5": 61_706,
    "alexnet": 50_844_008,
    "vgg16": 138_357_544,
    "googlenet": 6_998_552,
    "resnet18": 11_692_520,
}
LESSON_CONFIG = {  # (in_channels, height, width, classes)
    "fashion_cnn": (1, 28, 28, 10),
    "lenet5": (1, 28, 28, 10),
    "alexnet": (3, 224, 224, 1000),
    "vgg16": (3, 224, 224, 1000),
    "googlenet": (3, 224, 224, 1000),
    "resnet18": (3, 224, 224, 1000),
}


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(LESSON_PARAMS))
def test_lesson_parameter_counts(name: str) -> None:
    channels, _, _, classes = LESSON_CONFIG[name]
    model = zoo.create_model(name, num_classes=classes, in_channels=channels)
    assert count(model) == LESSON_PARAMS[name]


@pytest.mark.parametrize("name", zoo.list_models())
def test_declared_params_match_the_built_model(name: str) -> None:
    spec = zoo.get_model_spec(name)
    with torch.device("meta"):
        model = zoo.create_model(name)
    assert count(model) == spec.params


@pytest.mark.parametrize("name", zoo.list_models())
def test_forward_and_backward_at_default_input(name: str) -> None:
    spec = zoo.get_model_spec(name)
    torch.manual_seed(0)
    model = zoo.create_model(name, num_classes=7)
    x = torch.randn(2, *spec.input_shape)
    out = model(x)
    assert out.shape == (2, 7)
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", ["fashion_cnn", "lenet5_bn", "resnet18_small"])
def test_small_models_take_other_channels_and_sizes(name: str) -> None:
    model = zoo.create_model(name, num_classes=3, in_channels=3).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_channels_last_gives_the_same_logits() -> None:
    model = zoo.create_model("fashion_cnn").eval()
    x = torch.randn(4, 1, 28, 28)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    torch.testing.assert_close(model(x.to(memory_format=torch.channels_last)), expected)


def test_resnet18_small_width_argument() -> None:
    narrow = zoo.create_model("resnet18_small", width=32)
    assert count(narrow) < zoo.get_model_spec("resnet18_small").params / 3


def test_fashion_cnn_uses_the_lessons_initialisation() -> None:
    torch.manual_seed(0)
    model = zoo.create_model("fashion_cnn")
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear):
            assert torch.count_nonzero(module.bias) == 0
            fan_out = module.weight.shape[0] * module.weight[0, 0].numel()
            expected_std = (2 / fan_out) ** 0.5
            assert module.weight.std().item() == pytest.approx(expected_std, rel=0.15)


def test_a_head_reinitialised_for_other_classes_is_made_as_reset_classifier_makes_one() -> None:
    """fashion_cnn draws its layers with a fan-out Kaiming rule; on trained features such a head
    gives logits of standard deviation 18. A re-initialised head is torch's default layer."""
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="the classifier .* was re-initialised for 4"):
        model = zoo.create_model("fashion_cnn", weights="fashion_mnist", num_classes=4).eval()
    head = model.get_submodule(model.classifier_layer)
    assert head.weight.abs().max() <= 1 / head.in_features**0.5  # nn.Linear's own bound
    with torch.no_grad():
        assert model(torch.randn(64, 1, 28, 28)).std() < 3
