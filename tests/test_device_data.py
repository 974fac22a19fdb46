"""Batched augmentation (the built-in training plugin's) and normalisation on the device."""

from __future__ import annotations

import torch

from zoo_core import get_dataset, get_recipe
from zoo_core.data.device_data import BatchPrep, DeviceSplit
from zoo_core.host.training_parts import resolve_parts
from zoo_plugins.training.augmentations import random_erase, random_flip, random_shift


def images(n: int = 64) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(0)).float()


def test_flip_mirrors_about_half_the_images() -> None:
    x = images()
    out = random_flip(x, torch.Generator().manual_seed(1))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 16 < sum(flipped) < 48


def test_shift_moves_each_image_by_at_most_pad_pixels() -> None:
    x = images(32)
    out = random_shift(x, 2, torch.Generator().manual_seed(2))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for o, p in zip(out, padded, strict=True):
        matches = [
            (dy, dx) for dy in range(5) for dx in range(5) if torch.equal(o, p[:, dy : dy + 28, dx : dx + 28])
        ]
        assert matches
    assert not torch.equal(out, x)


def test_erase_zeroes_one_rectangle_in_about_half_the_images() -> None:
    x = torch.ones(200, 1, 28, 28)
    out = random_erase(x, torch.Generator().manual_seed(3))
    erased = (out == 0).flatten(1).sum(1)
    assert 60 < (erased > 0).sum() < 140
    assert erased.max() <= 0.33 * 28 * 28 + 28  # area bound, rounding aside


def test_erase_fills_with_the_dataset_mean_which_normalises_to_zero() -> None:
    recipe = get_recipe("fashion_cnn", augment="erase", options={"erase_p": 1.0})
    dataset = get_dataset("fashion_mnist").described((), 1)
    (erase,) = [p.build(recipe=recipe, dataset=dataset) for p in resolve_parts(recipe).augmentations]
    prep = BatchPrep(mean=dataset.mean, std=dataset.std, input_size=(28, 28), device=torch.device("cpu"))
    x, y = prep(torch.full((8, 1, 28, 28), 255, dtype=torch.uint8), torch.arange(8), [erase])
    assert torch.equal(y, torch.arange(8))
    erased = x.abs() < 1e-5
    assert erased.flatten(1).any(1).all() and not erased.all()  # every image has one rectangle


def test_augmentation_is_reproducible_with_the_same_generator() -> None:
    recipe = get_recipe("fashion_cnn", augment="flip,shift,erase")
    dataset = get_dataset("fashion_mnist").described((), 1)
    augment = [p.build(recipe=recipe, dataset=dataset) for p in resolve_parts(recipe).augmentations]
    split = DeviceSplit(
        images().to(torch.uint8),
        torch.zeros(64, dtype=torch.long),
        BatchPrep(mean=(0.5,), std=(0.5,), input_size=(28, 28), device=torch.device("cpu")),
    )
    a = next(split.batches(16, augment=augment, generator=torch.Generator().manual_seed(5)))[0]
    b = next(split.batches(16, augment=augment, generator=torch.Generator().manual_seed(5)))[0]
    c = next(split.batches(16, augment=augment, generator=torch.Generator().manual_seed(6)))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_normalisation_and_resize_match_torchvision() -> None:
    from torchvision.transforms import v2

    raw = images(4).to(torch.uint8)
    split = DeviceSplit(
        raw,
        torch.zeros(4, dtype=torch.long),
        BatchPrep(
            mean=(0.5,), std=(0.5,), input_size=(56, 56), device=torch.device("cpu"), channels_last=True
        ),
    )
    x, _ = next(split.batches(4))
    reference = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize((0.5,), (0.5,))])(raw)
    reference = torch.nn.functional.interpolate(
        reference, size=(56, 56), mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(x, reference, atol=1e-5, rtol=1e-5)
    assert x.is_contiguous(memory_format=torch.channels_last)
