"""Photos at 224 pixels, end to end: a folder of mixed-size JPEGs and PNGs (some sideways with
an EXIF tag, some grey), trained with the photo augmentations, fine-tuned onto other classes,
evaluated with its report, asked to predict, exported to int8 ONNX gated on the folder, and
published. Real (if tiny) runs of the lesson's resnet18 and googlenet on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import photo_folder

SMALL = ["--epochs", "1", "--batch-size", "8", "--no-progress", "--device", "cpu"]
PHOTO_AUGMENT = "random_resized_crop,color_jitter,trivial_augment,flip"


def zoo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "zoo_core", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"zoo {' '.join(args)}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.parametrize("model", ["resnet18", "googlenet"])
def test_a_224_pixel_fine_tune_on_photos_trains_evaluates_predicts_exports_and_publishes(
    model, tmp_path
) -> None:
    two = photo_folder(tmp_path / "two", count=(12, 4, 6))
    three = photo_folder(tmp_path / "three", classes=("disc", "square", "triangle"), count=(12, 4, 6))
    zoo("train", model, "--data", str(two), "--input-size", "224", "--augment", PHOTO_AUGMENT, *SMALL,
        "--out", "base", cwd=tmp_path)  # fmt: skip
    base = json.loads((tmp_path / "base" / "recipe.json").read_text())
    assert base["input_size"] == [224, 224] and base["augment"] == PHOTO_AUGMENT.split(",")

    # the fine-tune keeps the weights' 224 pixels and gets a fresh three-class head
    tuned = zoo("train", model, "--data", str(three), "--weights", "base/best.safetensors", *SMALL, "--json",
                "--out", "tuned", cwd=tmp_path)  # fmt: skip
    assert "224x224 pixels" in tuned.stderr
    report = json.loads(tuned.stdout)
    assert report["test_images"] == 18 and len(report["test_report"]["confusion_matrix"]) == 3
    assert (tmp_path / "tuned" / "confusion-test.png").is_file()

    evaluated = json.loads(
        zoo(
            "eval", model, "--weights", "tuned/best.safetensors", "--data", str(three), "--json", cwd=tmp_path
        ).stdout
    )
    assert evaluated["accuracy"] == pytest.approx(report["test_accuracy"])
    assert sorted(evaluated["per_class"]) == ["disc", "square", "triangle"]

    sideways = next((three / "test" / "disc").glob("2.jpg"))  # stored sideways, upright by EXIF
    (predicted,) = json.loads(
        zoo(
            "predict", model, str(sideways), "--weights", "tuned/best.safetensors", "--json", cwd=tmp_path
        ).stdout
    )
    assert {p["label"] for p in predicted["predictions"]} == {"disc", "square", "triangle"}

    exported = zoo("export", model, "--weights", "tuned/best.safetensors", "--onnx", "--quantize", "int8",
                   "--data", str(three), "--out", ".", cwd=tmp_path)  # fmt: skip
    assert "3x224x224" in exported.stdout and "test split (18 images)" in exported.stdout
    assert (tmp_path / f"{model}.int8.onnx").is_file()

    published = zoo("publish", "tuned", "--tag", "photos", "--to", "hub", cwd=tmp_path)
    assert f"published {model}.photos" in published.stdout
    bundle = tmp_path / "hub" / model / "photos"
    assert (bundle / "confusion-test.png").is_file()
    assert not (bundle / "errors-test.png").exists()  # the data's own images stay in the run folder
    card = json.loads((bundle / "zoo.json").read_text())
    assert card["input_size"] == [224, 224] and card["labels"] == ["disc", "square", "triangle"]
