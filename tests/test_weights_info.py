"""WeightsInfo, the one schema of weights metadata: round trips through the manifest and file
headers, one error naming a bad field, and the info every model built with weights carries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo_core as zoo
from zoo_core import WeightsError, WeightsInfo, load_weights, save_weights
from zoo_core.host.training_parts import with_defaults

from .helpers import run_python, shipped_entries

ENTRIES = shipped_entries()


def info(**changes) -> WeightsInfo:
    base = WeightsInfo(
        model="lenet5",
        tag="mine",
        num_classes=3,
        in_channels=1,
        input_size=(28, 28),
        mean=(0.5,),
        std=(0.25,),
        labels=("a", "b", "c"),
        dataset="fashion_mnist",
        recipe=zoo.get_model_spec("lenet5").recipe,
        metrics={"test_accuracy": 0.5},
        versions={"torch": "2.x"},
    )
    return dataclasses.replace(base, **changes)


def test_header_and_manifest_round_trips_keep_every_field() -> None:
    original = info()
    header = original.to_metadata()
    assert all(isinstance(v, str) for v in header.values())
    assert header["format"] == "zoo-weights-1" and header["model"] == "lenet5"
    assert WeightsInfo.from_metadata(header) == original
    assert WeightsInfo.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_a_crop_pct_round_trips_and_the_default_is_left_out_of_manifests() -> None:
    cropped = info(crop_pct=0.875)
    assert WeightsInfo.from_metadata(cropped.to_metadata()) == cropped
    assert WeightsInfo.from_dict(cropped.to_dict()) == cropped
    assert "crop_pct" not in info().to_dict()  # what zoo 0.3 wrote, and reads


def three_bands(width: int, height: int):
    """Black, white, black vertical thirds: squashing keeps the black sides, cropping the
    centre square of a 3:1 picture keeps only the white."""
    from PIL import Image

    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[:, width // 3 : 2 * width // 3] = 255
    return Image.fromarray(pixels)


def test_a_wide_picture_is_cropped_not_squashed_the_same_way_by_decode_and_transforms() -> None:
    from zoo_core.data.samples import decode

    wide = three_bands(84, 28)
    decoded = decode(wide, channels=1, size=(28, 28), interpolation="bilinear")
    assert decoded.shape == (1, 28, 28) and decoded.min() == 255
    transformed = info(mean=(0.0,), std=(1.0,)).transforms()(wide)
    assert torch.allclose(transformed * 255, torch.from_numpy(decoded).float(), atol=0.5)


def test_crop_pct_keeps_the_centre_of_the_resized_picture() -> None:
    from PIL import Image

    from zoo_core.data.samples import decode

    framed = np.zeros((40, 40), dtype=np.uint8)
    framed[10:30, 10:30] = 255  # a white centre square, half the side
    decoded = decode(
        Image.fromarray(framed), channels=1, size=(20, 20), interpolation="bilinear", crop_pct=0.5
    )
    assert decoded.min() == 255  # only the centre is left
    whole = decode(Image.fromarray(framed), channels=1, size=(20, 20), interpolation="bilinear")
    assert whole.min() == 0


def test_a_photo_is_turned_upright_as_its_exif_orientation_says(tmp_path: Path) -> None:
    from PIL import Image

    from zoo_core.data.samples import decode

    sideways = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the picture rotated 90 degrees clockwise
    three_bands(84, 28).convert("RGB").save(sideways, exif=exif.tobytes(), quality=95)
    with Image.open(sideways) as photo:
        upright = decode(photo, channels=1, size=(84, 28), interpolation="bilinear")
        assert photo.size == (84, 28)  # the caller's picture is left as it was
    # upright it is 28 wide and 84 tall, the bands running across: black, white, black
    rows = upright[0].mean(axis=1)
    assert rows[:20].max() < 20 and rows[32:52].min() > 235 and rows[64:].max() < 20


def test_a_file_header_carries_no_file_or_sha256() -> None:
    header = info(file=Path("x.safetensors"), sha256="a" * 64).to_metadata()
    assert "file" not in header and "sha256" not in header


def test_headers_written_before_versions_existed_still_read() -> None:
    header = {k: v for k, v in info().to_metadata().items() if k != "versions"}
    header.update(zoo_version="0.1.0", torch_version="2.9.1")
    assert WeightsInfo.from_metadata(header).versions == {"zoo": "0.1.0", "torch": "2.9.1"}


def test_keys_of_other_tools_are_left_alone() -> None:
    header = {**info().to_metadata(), "opset": "18", "plugin": "lenet"}
    assert WeightsInfo.from_metadata(header) == info()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input_size", "[28]", "weights field 'input_size' must be (height, width) in pixels"),
        ("mean", "[0.5, 0.5]", "weights field 'mean' must be 1 number(s), one per input channel"),
        ("std", "[0]", "weights field 'std' must be positive"),
        ("labels", '["a"]', "weights field 'labels' must be 3 class names (or none)"),
        ("num_classes", "three", "field 'num_classes' is not JSON"),
        ("num_classes", "0", "weights field 'num_classes' must be a positive integer"),
        ("recipe", '{"lr": 1}', "weights field 'recipe' is not a valid recipe"),
        (
            "interpolation",
            "lanczos",
            "weights field 'interpolation' must be one of nearest, bilinear, bicubic",
        ),
        ("metrics", '{"acc": "high"}', "weights field 'metrics' must map names to numbers"),
        ("crop_pct", "0", "weights field 'crop_pct' must be a number from 0.1 to 1"),
        ("crop_pct", "1.5", "weights field 'crop_pct' must be a number from 0.1 to 1"),
        ("format", "zoo-weights-9", "format 'zoo-weights-9' is not 'zoo-weights-1', the one this zoo reads"),
    ],
)
def test_a_bad_header_field_is_one_error_naming_it(field, value, message) -> None:
    header = {**info().to_metadata(), field: value}
    with pytest.raises(WeightsError, match=r"^x\.safetensors: ") as caught:
        WeightsInfo.from_metadata(header, where="x.safetensors")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_field_is_named() -> None:
    header = {k: v for k, v in info().to_metadata().items() if k != "in_channels"}
    with pytest.raises(WeightsError, match="weights field 'in_channels' is missing"):
        WeightsInfo.from_metadata(header)


def test_get_weights_reads_a_tag_without_torch_or_a_model() -> None:
    script = (
        "import sys, zoo_core as zoo; w = zoo.get_weights('fashion_cnn', 'fashion_mnist'); "
        "print(w.name, w.labels[9], w.mean, w.recipe.name, w.metrics['test_accuracy'] > 0.93); "
        "print('torch' in sys.modules)"
    )
    result = run_python("-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "fashion_cnn.fashion_mnist Ankle boot (0.5,) augmented True",
        "False",
    ]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_shipped_file_says_what_its_manifest_entry_says(entry) -> None:
    from_file = zoo.get_weights(entry.model, entry.file)
    assert from_file.sha256 == entry.sha256 and from_file.file == entry.file
    for key in ("model", "num_classes", "in_channels", "input_size", "mean", "std", "labels", "dataset"):
        assert getattr(from_file, key) == getattr(entry, key), key
    # older files name no loss or trainer: the defaults, which is what they were trained with
    assert with_defaults(from_file.recipe.replace(name="-")) == with_defaults(entry.recipe.replace(name="-"))


def test_models_built_with_weights_carry_their_info() -> None:
    assert zoo.create_model("fashion_cnn").zoo_weights is None
    tagged = zoo.create_model("fashion_cnn", weights="fashion_mnist")
    assert tagged.zoo_weights == zoo.get_weights("fashion_cnn", "fashion_mnist")
    with pytest.warns(UserWarning, match="re-initialised"):
        other = zoo.create_model("fashion_cnn", weights=True, num_classes=4, in_channels=3).zoo_weights
    assert (other.num_classes, other.labels, other.metrics) == (4, (), {})
    assert (other.in_channels, other.mean, other.std) == (3, (0.5,) * 3, (0.5,) * 3)


def test_a_file_written_by_save_weights_loads_with_its_info(tmp_path: Path) -> None:
    model = zoo.create_model("lenet5", num_classes=3)
    path = tmp_path / "mine.safetensors"
    sha256 = save_weights(model.state_dict(), path, info().to_metadata())
    loaded = zoo.create_model("lenet5", weights=path)
    assert loaded.zoo_weights == info(tag="mine", file=path, sha256=sha256)
    assert all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    assert load_weights(path)[1] == info().to_metadata()


def test_a_bare_state_dict_file_loads_with_the_registered_shape(tmp_path: Path) -> None:
    """What save_file(model.state_dict()) writes records nothing: the registered shape and the
    recipe dataset's normalisation and labels are taken (predict used to fail on it)."""
    from safetensors.torch import save_file

    model = zoo.create_model("lenet5")
    path = tmp_path / "bare.safetensors"
    save_file(model.state_dict(), str(path))
    loaded = zoo.create_model("lenet5", weights=path).zoo_weights
    assert (loaded.num_classes, loaded.mean, loaded.std, loaded.labels[0]) == (
        10,
        (0.5,),
        (0.5,),
        "T-shirt/top",
    )
    assert loaded.recipe is None and loaded.metrics == {}
    loaded.transforms()  # no longer "does not record its normalisation"
