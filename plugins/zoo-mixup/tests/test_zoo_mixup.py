"""Mixup as a recipe part: listed, checked by option, and blending images and labels alike."""

from __future__ import annotations

import pytest
import torch

import zoo_core as zoo
from zoo_core import RecipeError
from zoo_core.host.training_parts import resolve_parts


def test_mixup_is_a_registered_augmentation_with_a_checked_option(mixup_registered) -> None:
    recipe = zoo.get_recipe("lenet5", augment="mixup", options={"mixup_alpha": 0.4})
    (part,) = resolve_parts(recipe).augmentations
    assert part.spec.name == "mixup" and part.options == {"mixup_alpha": 0.4} and not part.spec.keeps_labels
    with pytest.raises(RecipeError, match=r"option 'mixup_alpha' must be at least 0\.01"):
        zoo.get_recipe("lenet5", augment="mixup", options={"mixup_alpha": 0.0})


def test_mixup_blends_each_image_and_its_label_with_the_same_weight(mixup_registered) -> None:
    recipe = zoo.get_recipe("lenet5", augment="mixup")
    (part,) = resolve_parts(recipe).augmentations
    augment = part.build(recipe=recipe, dataset=zoo.get_dataset(recipe.dataset))
    torch.manual_seed(0)
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 2, 2) * 10
    y = torch.tensor([0, 1, 2, 3])
    mixed, targets = augment(x, y, torch.Generator().manual_seed(1))
    assert targets.shape == (4, 10) and torch.allclose(targets.sum(1), torch.ones(4))
    # a pixel's value says which images were blended, in which shares: the label says the same
    assert torch.allclose(mixed[:, 0, 0, 0], (targets[:, :4] * torch.tensor([0.0, 10, 20, 30])).sum(1))
