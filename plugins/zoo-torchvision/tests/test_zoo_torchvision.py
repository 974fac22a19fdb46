"""torchvision's catalogue as zoo models: listed from a catalogue built once per version, built
with the catalogue's parameter counts, weights read from TORCH_HOME's checkpoints the way
torchvision reads them, exported, predicted with and fine-tuned through the zoo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core import ZooError

PACKAGE = Path(__file__).resolve().parents[1]


def checkpoint(torch_home: Path, name: str, tag: str) -> dict[str, torch.Tensor]:
    """A random state dict of ``name`` saved where torchvision keeps the file of ``tag``."""
    from torchvision import models

    url = models.get_model_weights(name)[tag].url
    state = models.get_model(name).state_dict()
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / url.rsplit("/", 1)[-1])
    return state


def photos(root: Path, *, count: tuple[int, int, int]) -> Path:
    """Two classes of photos of mixed sizes: a bright disc or square on noise."""
    from PIL import ImageDraw

    rng = np.random.default_rng(0)
    for split, n in zip(("train", "val", "test"), count, strict=True):
        for label, name in enumerate(("disc", "square")):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                width, height = (int(v) for v in rng.integers(160, 320, 2))
                image = Image.fromarray(rng.integers(0, 120, (height, width, 3), dtype=np.uint8))
                side = min(width, height) // 2
                box = ((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2)
                (ImageDraw.Draw(image).ellipse if label == 0 else ImageDraw.Draw(image).rectangle)(
                    box, fill=(230, 220, 90)
                )
                image.save(root / split / name / f"{i}.jpg")
    return root


def test_every_classification_model_is_listed_with_its_weights_tags(torchvision_registered) -> None:
    from torchvision import models

    names = zoo.list_models("torchvision/*")
    assert names == sorted(f"torchvision/{n}" for n in models.list_models(module=models))
    spec = zoo.get_model_spec("torchvision/resnet50")
    assert [w.tag for w in spec.weights] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    v2 = spec.weights[1]
    assert v2.input_size == (224, 224) and v2.crop_pct == pytest.approx(224 / 232)
    assert v2.labels[0] == "tench" and v2.metrics["imagenet_acc1"] == pytest.approx(0.80858)
    assert spec.params == 25_557_032 and "Deep Residual Learning" in spec.description
    assert zoo.get_model_spec("torchvision/inception_v3").input_size == (299, 299)


def test_every_model_builds_with_the_catalogues_parameter_count(torchvision_registered) -> None:
    from zoo_torchvision.models import skeleton

    for name in zoo.list_models("torchvision/*"):
        spec = zoo.get_model_spec(name)
        built = sum(p.numel() for p in skeleton(name.removeprefix("torchvision/")).parameters())
        assert built == spec.params, name


def test_the_catalogue_is_built_once_per_version_and_listing_then_imports_no_torchvision(
    torchvision_registered, tmp_path
) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import zoo_torchvision, zoo_core as zoo\n"
        "from zoo_core.host import plugins\n"
        "if 'torchvision' not in {i.name for i in plugins.plugin_infos()}:\n"
        "    plugins.get_host().register(zoo_torchvision, 'torchvision')\n"
        "print(len(zoo.list_models('torchvision/*')), 'torchvision' in sys.modules)\n"
    )
    env = {"ZOO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.run([sys.executable, "-c", code, str(PACKAGE)], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    (first_count, first_import), (second_count, second_import) = (r.stdout.split() for r in runs)
    assert first_count == second_count and int(first_count) > 70
    assert (first_import, second_import) == ("True", "False")  # built once, then only read


def test_a_new_torchvision_version_builds_a_new_catalogue(
    torchvision_registered, monkeypatch, tmp_path
) -> None:
    from zoo_torchvision import catalogue as module

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    module.current.cache_clear()
    current = module.current()
    monkeypatch.setattr(module, "version", lambda _: "9.9.9")
    module.current.cache_clear()
    try:
        assert module.current()["torchvision"] == "9.9.9"
        files = sorted(p.name for p in module.catalogue_path().parent.iterdir())
        assert files == sorted([f"torchvision-{current['torchvision']}-2.json", "torchvision-9.9.9-2.json"])
    finally:
        monkeypatch.undo()
        module.current.cache_clear()


def test_weights_come_from_torch_homes_checkpoints_and_predict_imagenet_labels(
    torchvision_registered, torch_home, tmp_path
) -> None:
    state = checkpoint(torch_home, "resnet18", "IMAGENET1K_V1")
    model = zoo.create_model("torchvision/resnet18", weights="IMAGENET1K_V1")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert model.zoo_weights.tag == "IMAGENET1K_V1" and len(model.zoo_weights.labels) == 1000
    picture = tmp_path / "photo.jpg"
    Image.new("RGB", (320, 240), (200, 30, 30)).save(picture)
    from zoo_core.models.predict import predict

    (result,) = predict("torchvision/resnet18", [picture], weights="IMAGENET1K_V1", topk=2)
    assert all(p["label"] in model.zoo_weights.labels for p in result["predictions"])


def test_our_transforms_match_torchvisions_for_the_same_weights(torchvision_registered, torch_home) -> None:
    from torchvision import models

    info = zoo.get_model_spec("torchvision/resnet50").weights[1]
    photo = Image.effect_mandelbrot((400, 300), (-2, -1.2, 1, 1.2), 80).convert("RGB")
    ours, theirs = info.transforms()(photo), models.ResNet50_Weights.IMAGENET1K_V2.transforms()(photo)
    assert ours.shape == theirs.shape == (3, 224, 224)
    assert (ours - theirs).abs().mean() < 0.02  # both: short side to 232, centre 224, bilinear


def test_missing_weights_offline_are_one_line_naming_torch_home(torchvision_registered, torch_home) -> None:
    with pytest.raises(
        ZooError, match=r"cannot fetch torchvision's IMAGENET1K_V1 weights of resnet18 into .*torch-home"
    ):
        zoo.create_model("torchvision/resnet18", weights="IMAGENET1K_V1")


def test_export_and_a_short_fine_tune_on_photos(
    torchvision_registered, torch_home, tmp_path, zoo_cli, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exported = zoo_cli("export", "torchvision/mobilenet_v3_small", "--onnx", "--out", ".")
    assert exported.exit_code == 0, exported.output
    assert "pass" in exported.output and (tmp_path / "torchvision--mobilenet_v3_small.onnx").is_file()

    checkpoint(torch_home, "resnet18", "IMAGENET1K_V1")
    folder = photos(tmp_path / "photos", count=(8, 4, 4))
    args = [
        "--weights",
        "IMAGENET1K_V1",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--no-progress",
        "--out",
        "run",
    ]
    tuned = zoo_cli("train", "torchvision/resnet18", "--data", str(folder), *args, "--out", "run")
    assert tuned.exit_code == 0, tuned.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["test_images"] == 8 and report["model"] == "torchvision/resnet18"
    recipe = json.loads((tmp_path / "run" / "recipe.json").read_text())
    assert recipe["input_size"] == [224, 224]
    info = zoo.create_model("torchvision/resnet18", weights=tmp_path / "run" / "best.safetensors").zoo_weights
    assert info.labels == ("disc", "square") and info.parent["weights"] == "IMAGENET1K_V1"
    assert info.crop_pct == pytest.approx(0.875)


@pytest.mark.parametrize(("model", "tag"), [("resnet18", "IMAGENET1K_V1"), ("vgg16", "IMAGENET1K_V1")])
def test_torchvisions_weights_import_into_the_lesson_networks_with_the_same_logits(
    torchvision_registered, torch_home, tmp_path, model, tag
) -> None:
    from torchvision import models
    from zoo_torchvision.lesson import import_weights

    state = checkpoint(torch_home, model, tag)
    for key, value in state.items():  # batch norm statistics as trained weights have them
        if key.endswith("running_var"):
            value.uniform_(0.5, 2.0)
        elif key.endswith("running_mean"):
            value.normal_(0, 0.1)
    torch.save(state, next((torch_home / "hub" / "checkpoints").iterdir()))
    out = tmp_path / f"{model}-imagenet.safetensors"
    info = import_weights(model, tag, out)
    assert info.model == model and info.labels[0] == "tench" and "imported into the lesson" in info.source
    lesson = zoo.create_model(model, weights=out).eval()
    theirs = models.get_model(model)
    theirs.load_state_dict(state)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(lesson(x), theirs.eval()(x), rtol=1e-4, atol=1e-4)
    assert lesson.zoo_weights.crop_pct == pytest.approx(0.875) and lesson.zoo_weights.input_size == (224, 224)
