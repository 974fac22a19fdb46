"""Training on your own images: image folders, the resident and streaming data paths, the
decoded cache, and fine-tuning from trained weights."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core import training
from zoo_core.data.datasets import get_dataset
from zoo_core.data.splits import DataOptions, load_splits
from zoo_core.store.paths import decoded_cache
from zoo_plugins.datasets import fashion_mnist, image_folder

CLASSES = {0: "tshirt", 1: "trouser", 7: "sneaker", 8: "bag"}  # four Fashion-MNIST classes
SUPER = {0: "tops", 2: "tops", 4: "tops", 6: "tops", 5: "footwear", 7: "footwear", 9: "footwear", 8: "bags"}


@pytest.fixture(scope="session")
def fashion() -> zoo.ImageSet:
    return fashion_mnist.load(download=False)


def write_image(pixels: np.ndarray, path: Path, variant: int) -> None:
    """The same picture as a 28x28 PNG, a 40x40 RGB PNG or a 56x56 JPEG."""
    image = Image.fromarray(pixels, "L")
    if variant % 3 == 1:
        image.convert("RGB").resize((40, 40)).save(path.with_suffix(".png"))
    elif variant % 3 == 2:
        image.resize((56, 56)).save(path.with_suffix(".jpg"), quality=95)
    else:
        image.save(path.with_suffix(".png"))


def mixed_folder(root: Path, fashion: zoo.ImageSet, *, splits: bool, per_class: int = 150) -> Path:
    """Four classes of Fashion-MNIST training images in mixed sizes, modes and formats, one
    corrupt file; with ``splits``, fixed train (60%), val (20%) and test (20%) folders."""
    counts: dict[int, int] = {}
    for i, label in enumerate(fashion.train_labels.tolist()):
        if label not in CLASSES or counts.get(label, 0) >= per_class:
            continue
        n = counts[label] = counts.get(label, 0) + 1
        split = (
            ("train" if n <= 0.6 * per_class else "val" if n <= 0.8 * per_class else "test") if splits else ""
        )
        folder = root / split / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        write_image(fashion.train_images[i, 0].numpy(), folder / str(i), n)
    (root / ("train" if splits else "") / "bag" / "broken.png").write_bytes(b"not an image at all")
    return root


@pytest.fixture(scope="session")
def flat_folder(tmp_path_factory, fashion) -> Path:
    return mixed_folder(tmp_path_factory.mktemp("flat"), fashion, splits=False)


@pytest.fixture(scope="session")
def split_folder(tmp_path_factory, fashion) -> Path:
    return mixed_folder(tmp_path_factory.mktemp("split"), fashion, splits=True)


def test_a_short_run_on_a_folder_learns_and_its_weights_name_the_classes(flat_folder, tmp_path, zoo_cli):
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\) .* not readable images: .*broken.png"):
        result = zoo_cli(
            *("train", "fashion_cnn", "--data", str(flat_folder), "--epochs", "3", "--no-progress"),
            *("--out", str(tmp_path / "run")),
        )
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(
        "data: image_folder (4 classes), 480 train / 120 val images, no test split; resident"
    )
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["best_val_accuracy"] > 0.6  # chance is 0.25
    assert "test_accuracy" not in report  # no test split, no test figure
    header = zoo.load_weights(tmp_path / "run" / "best.safetensors")[1]
    assert json.loads(header["labels"]) == ["bag", "sneaker", "trouser", "tshirt"]

    picture = next((flat_folder / "sneaker").glob("*.png"))
    predicted = zoo_cli(
        "predict", "fashion_cnn", str(picture), "--weights", str(tmp_path / "run" / "best.safetensors")
    )
    line = predicted.stdout
    assert predicted.exit_code == 0 and line.split(": ")[1].split()[0] in {
        "bag",
        "sneaker",
        "trouser",
        "tshirt",
    }


def test_resident_and_streaming_paths_train_alike(split_folder, tmp_path):
    recipe = zoo.get_recipe("fashion_cnn", dataset="image_folder", epochs=2, batch_size=32)
    reports = {}
    for name, cache in (("resident", True), ("streaming", False)):
        settings = training.Settings(data_dir=str(split_folder), data_cache=cache, workers=2)
        reports[name] = training.train("fashion_cnn", recipe, settings, out=tmp_path / name, progress=False)
    assert reports["resident"]["test_images"] == reports["streaming"]["test_images"] == 120
    assert reports["resident"]["test_accuracy"] > 0.6
    assert abs(reports["resident"]["test_accuracy"] - reports["streaming"]["test_accuracy"]) <= 0.01


def test_zoo_eval_reads_the_folder_with_the_weights_classes(split_folder, tmp_path, zoo_cli):
    recipe = zoo.get_recipe("fashion_cnn", dataset="image_folder", epochs=1, batch_size=32)
    training.train(
        "fashion_cnn",
        recipe,
        training.Settings(data_dir=str(split_folder)),
        out=tmp_path / "r",
        progress=False,
    )
    weights = str(tmp_path / "r" / "best.safetensors")
    result = zoo_cli("eval", "fashion_cnn", "--weights", weights, "--data", str(split_folder), "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["images"] == 120 and set(found["per_class_accuracy"]) == set(CLASSES.values())
    other = zoo_cli("eval", "fashion_cnn", "--weights", "fashion_mnist", "--data", str(split_folder))
    assert other.exit_code == 1 and "predicts 10 classes" in other.output


def test_a_changed_file_invalidates_the_decoded_cache(tmp_path, fashion):
    root = mixed_folder(tmp_path / "images", fashion, splits=False, per_class=10)
    spec, recipe = get_dataset("image_folder"), zoo.get_recipe("fashion_cnn", dataset="image_folder")

    def train_pixels():
        options = DataOptions(data_dir=root, cache=True, workers=0)
        splits = load_splits(spec, recipe, device=torch.device("cpu"), channels=1, options=options)
        return splits.train.images.clone(), set(decoded_cache().glob("*.npy"))

    first, cached = train_pixels()
    again, cached_again = train_pixels()
    assert cached and cached_again == cached and (first == again).all()  # mapped, not decoded again
    picture = sorted((root / "bag").glob("*.png"))[0]
    Image.new("L", (28, 28), color=255).save(picture)
    os.utime(picture, ns=(1, 1))  # a new mtime, even on a coarse clock
    changed, cached_after = train_pixels()
    assert len(cached_after - cached) == 1
    assert not (first == changed).all()


def test_images_of_any_mode_become_the_models_channels(tmp_path):
    root = tmp_path / "modes"
    for name, image in {
        "gray16": Image.fromarray(np.full((30, 20), 65535, dtype=np.uint16)),
        "rgba": Image.new("RGBA", (50, 50), (255, 0, 0, 128)),
        "palette": Image.new("P", (28, 28)),
        "cmyk": Image.new("CMYK", (28, 28)),
    }.items():
        (root / name).mkdir(parents=True)
        image.save(root / name / ("a.tif" if name == "cmyk" else "a.png"))
    data = image_folder.load(data_dir=root)
    spec, recipe = (
        get_dataset("image_folder"),
        zoo.get_recipe("resnet18", dataset="image_folder", val_fraction=0.0),
    )
    options = DataOptions(data_dir=root, cache=False, workers=0)
    splits = load_splits(spec, recipe, device=torch.device("cpu"), channels=3, options=options)
    x, _ = next(splits.train.batches(8))
    assert len(data.train) == 4 and x.shape == (4, 3, *recipe.input_size)
    white = data.classes.index("gray16")  # 16-bit white stays white, not clipped
    assert x[white].min() > 0.99


def test_fine_tuning_reaches_95_percent_in_200_steps_and_beats_training_from_scratch(tmp_path, fashion):
    """Tops / footwear / bags drawn black on white, from fashion_cnn's Fashion-MNIST weights."""
    root = tmp_path / "super"
    for split, images, labels in (
        ("train", fashion.train_images, fashion.train_labels),
        ("test", fashion.test_images, fashion.test_labels),
    ):
        counts: dict[str, int] = {}
        for i, label in enumerate(labels.tolist()):
            group = SUPER.get(label)
            if group is None or counts.get(group, 0) >= 200:
                continue
            counts[group] = counts.get(group, 0) + 1
            (root / split / group).mkdir(parents=True, exist_ok=True)
            Image.fromarray(255 - images[i, 0].numpy(), "L").save(root / split / group / f"{i}.png")
    # 480 training images in batches of 32: 15 steps an epoch, 180 in all
    recipe = zoo.get_recipe(
        "fashion_cnn", dataset="image_folder", epochs=12, batch_size=32, lr=1e-2, lr_features=0.1
    )
    tuned = training.train(
        "fashion_cnn",
        recipe,
        training.Settings(data_dir=str(root), weights="fashion_mnist"),
        out=tmp_path / "tuned",
        progress=False,
    )
    scratch = training.train(
        "fashion_cnn", recipe, training.Settings(data_dir=str(root)), out=tmp_path / "scratch", progress=False
    )
    assert tuned["steps"] == scratch["steps"] <= 200
    assert tuned["test_accuracy"] >= 0.95
    assert tuned["test_accuracy"] > scratch["test_accuracy"]
    parent = json.loads(zoo.load_weights(tmp_path / "tuned" / "best.safetensors")[1]["parent"])
    assert parent == {
        "model": "fashion_cnn",
        "weights": "fashion_mnist",
        "sha256": zoo.get_weights("fashion_cnn", "fashion_mnist").sha256,
    }


def test_freeze_features_trains_the_head_only(split_folder, tmp_path):
    recipe = zoo.get_recipe(
        "fashion_cnn", dataset="image_folder", epochs=1, batch_size=32, freeze_features=True
    )
    settings = training.Settings(data_dir=str(split_folder), weights="fashion_mnist")
    training.train("fashion_cnn", recipe, settings, out=tmp_path / "run", progress=False)
    trained = zoo.load_weights(tmp_path / "run" / "last.safetensors")[0]
    parent = zoo.load_weights(zoo.get_weights("fashion_cnn", "fashion_mnist").file)[0]
    features = [k for k in parent if int(k.split(".")[0]) < 6]
    assert features and all((trained[k] == parent[k]).all() for k in features)
    assert not (trained["11.weight"][:, :5] == 0).all()  # the new head learned


def test_a_second_scan_of_an_unchanged_folder_opens_no_image(tmp_path, fashion, monkeypatch):
    root = mixed_folder(tmp_path / "images", fashion, splits=False, per_class=5)
    with pytest.warns(UserWarning, match="skipped 1 file"):
        first = image_folder.load(data_dir=root)

    def no_opening(*args, **kwargs):
        raise AssertionError("an image was opened")

    monkeypatch.setattr(Image, "open", no_opening)
    with pytest.warns(UserWarning, match="skipped 1 file"):  # still said, from the remembered scan
        again = image_folder.load(data_dir=root)
    assert again.train.files == first.train.files and again.train.key == first.train.key
