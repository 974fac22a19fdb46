"""Helpers shared by tests: a fresh Python process, a one-model plugin, and a two-class image
folder with fashion_cnn weights trained on it."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zoo_core import Recipe, WeightsInfo, hookimpl, read_manifest, training
from zoo_core.models.catalogue import get_recipe

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, disk: int | None = None
) -> subprocess.CompletedProcess:
    """Run the test interpreter in a fresh process (a cold start, with its own plugin state).
    ``disk``: the most bytes any one file may grow to, so that writing past it fails as a full
    disk does (``RLIMIT_FSIZE``: EFBIG where a full disk gives ENOSPC, the same code path)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=300,
        preexec_fn=None if disk is None else lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk)),
    )


def model_plugin(name: str, builder: Any, **registration: Any) -> object:
    """A plugin registering one model ``name``: a 1x28x28, 10-class Fashion-MNIST model unless
    ``registration`` says otherwise (any keyword of ``register``)."""
    arguments = {
        "params": 1,
        "num_classes": 10,
        "in_channels": 1,
        "input_size": (28, 28),
        "recipe": Recipe(dataset="fashion_mnist"),
        "description": "A test model.",
        **registration,
    }

    class Plugin:
        @hookimpl
        def zoo_register_models(self, register):
            register(name, builder, **arguments)

    return Plugin()


def two_tone_folder(root: Path, *, constant_train: bool = False) -> Path:
    """Classes ``dark`` and ``light`` (noise in two brightness bands), split into train and
    test folders; with ``constant_train`` every training image is one flat grey."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 40), ("test", 20)):
        for name, low in (("dark", 0), ("light", 150)):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(low, low + 100, (28, 28), dtype=np.uint8)
                if constant_train and split == "train":
                    pixels[:] = 128
                Image.fromarray(pixels, "L").save(folder / f"{i}.png")
    return root


def train_on_two_tones(root: Path) -> tuple[Path, Path]:
    """A folder of two classes in ``root`` and fashion_cnn's weights trained on it."""
    folder = two_tone_folder(root / "images")
    recipe = get_recipe("fashion_cnn", dataset="image_folder", epochs=3, batch_size=16, augment=())
    report = training.train(
        "fashion_cnn", recipe, training.Settings(data_dir=str(folder)), out=root / "run", progress=False
    )
    assert report["test_accuracy"] == 1.0
    return folder, root / "run" / "best.safetensors"


def shipped_entries() -> list[WeightsInfo]:
    """The built-in plugins' weights entries, each with its bundle in the checkout's ``weights/``."""
    from zoo_plugins.architectures.shipped_weights import MANIFEST, shipped

    return [entry for model in sorted({e.model for e in read_manifest(MANIFEST)}) for entry in shipped(model)]


# Fashion-MNIST's classes regrouped into four, as a user's own data set would differ from it
GROUPS = {"tops": (0, 2, 4, 6), "bottoms": (1, 3), "shoes": (5, 7, 9), "bags": (8,)}


def regrouped_fashion_folder(root: Path, *, train: int, val: int, test: int) -> Path:
    """A photos-like image folder made from Fashion-MNIST as a user would make one: four classes
    that group its ten, every image turned a quarter turn, ``train``/``val``/``test`` images a
    class in ``root/{train,val,test}/CLASS/``, PNGs. Training images come from its training
    split, the others from its test split, so a model trained on Fashion-MNIST never saw them."""
    from zoo_plugins.datasets.fashion_mnist import load

    data = load(download=False)
    rng = np.random.default_rng(0)
    for split, count, images, labels in (
        ("train", train, data.train_images, data.train_labels),
        ("val", val, data.test_images[:5000], data.test_labels[:5000]),
        ("test", test, data.test_images[5000:], data.test_labels[5000:]),
    ):
        for group, members in GROUPS.items():
            folder = root / split / group
            folder.mkdir(parents=True)
            pool = np.flatnonzero(np.isin(labels.numpy(), members))
            for i, index in enumerate(rng.choice(pool, count, replace=False)):
                pixels = np.rot90(images[index, 0].numpy())
                Image.fromarray(np.ascontiguousarray(pixels), "L").save(folder / f"{i}.png")
    return root


def photo_folder(
    root: Path, *, classes: tuple[str, ...] = ("disc", "square"), count: tuple[int, int, int]
) -> Path:
    """A folder like a user's photos: a coloured disc or square (or more shapes, one class each)
    on a noisy background, at mixed sizes and aspect ratios, JPEG and PNG, RGB and grey, some
    written sideways with an EXIF orientation tag as cameras do; ``count`` images a class in
    ``root/{train,val,test}/CLASS/``."""
    from PIL import ImageDraw

    rng = np.random.default_rng(0)
    shapes = ("ellipse", "rectangle", "triangle")
    for split, n in zip(("train", "val", "test"), count, strict=True):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                width, height = int(rng.integers(160, 320)), int(rng.integers(120, 300))
                noise = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
                image = Image.fromarray(noise, "RGB")
                side = int(min(width, height) * rng.uniform(0.4, 0.7))
                left, top = (width - side) // 2, (height - side) // 2
                box = (left, top, left + side, top + side)
                colour = tuple(int(v) for v in rng.integers(140, 256, 3))
                draw = ImageDraw.Draw(image)
                if shapes[label % 3] == "triangle":
                    draw.polygon(
                        [(left, top + side), (left + side, top + side), (left + side // 2, top)], fill=colour
                    )
                else:
                    getattr(draw, shapes[label % 3])(box, fill=colour)
                if i % 4 == 3:
                    image = image.convert("L")
                if i % 3 == 2:  # stored sideways, upright by its EXIF tag
                    exif = Image.Exif()
                    exif[0x0112] = 8
                    image.transpose(Image.Transpose.ROTATE_270).save(folder / f"{i}.jpg", exif=exif.tobytes())
                elif i % 2:
                    image.save(folder / f"{i}.jpg", quality=90)
                else:
                    image.save(folder / f"{i}.png")
    return root
