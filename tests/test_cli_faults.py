"""Fault injection through the real command line, each row in a process of its own: the command
exits non-zero with at most three lines on stderr and no traceback, leaves nothing new in its
output folder, and changes no file that was there. One row per bad input; add rows here."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core.contract.run import Run
from zoo_core.training import Settings

from .helpers import ROOT, run_python, train_on_two_tones, two_tone_folder

SHIPPED = ROOT / "weights" / "lenet5" / "fashion_mnist" / "model.safetensors"


def zoo_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo_core", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def copy_shipped(out: Path, *, mode: int | None = None) -> Path:
    target = out / "lenet5.safetensors"
    target.write_bytes(SHIPPED.read_bytes())
    if mode is not None:
        target.chmod(mode)
    return target


def holding_shipped(out: Path, *, mode: int | None = None) -> Path:
    """``out``, with a copy of lenet5's weights where an export of lenet5 would write."""
    copy_shipped(out, mode=mode)
    return out


def finished_run(scratch: Path) -> Path:
    """A run folder as a finished `zoo train` leaves it, as far as `zoo publish` reads one."""
    run = scratch / "finished"
    run.mkdir()
    (run / "best.safetensors").write_bytes(SHIPPED.read_bytes())
    (run / "report.json").write_text('{"test_accuracy": 0.9, "test_loss": 0.3}')
    return run


def edited_bundle(scratch: Path, **changes: object) -> Path:
    """lenet5's shipped bundle copied, its zoo.json edited after the fact (the weights untouched)."""
    folder = scratch / "edited"
    shutil.copytree(SHIPPED.parent, folder)
    card = json.loads((folder / "zoo.json").read_text())
    (folder / "zoo.json").write_text(json.dumps({**card, **changes}))
    return folder


def finished_without_checkpoint(out: Path) -> Path:
    """A run folder holding a finished run's report and weights, its checkpoint deleted."""
    folder = run_folder(out)
    (folder / "best.safetensors").write_bytes(SHIPPED.read_bytes())
    (folder / "report.json").write_text('{"test_accuracy": 0.9}')
    return folder


def an_image(scratch: Path) -> Path:
    Image.new("L", (28, 28), 128).save(scratch / "shirt.png")
    return scratch / "shirt.png"


def renamed_classes(scratch: Path) -> Path:
    return edited_bundle(scratch, labels=[f"c{i}" for i in range(10)])


def run_folder(out: Path, checkpoint: bytes | None = None) -> Path:
    """A run folder as `zoo train` starts one; with ``checkpoint``, that file's bytes too."""
    run = Run.create("lenet5", zoo.get_recipe("lenet5"), asdict(Settings()), out / "run", out)
    if checkpoint is not None:
        run.checkpoint_path.write_bytes(checkpoint)
    return run.directory


def truncated_checkpoint(scratch: Path) -> bytes:
    path = scratch / "whole.pt"
    torch.save({"model": {}, "trainer": {}, "history": []}, path)
    data = path.read_bytes()
    return data[: len(data) // 2]


def damaged_dataset(scratch: Path) -> Path:
    raw = scratch / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    return scratch / "data"


def huge_image(scratch: Path) -> Path:
    path = scratch / "huge.png"
    Image.new("1", (20_000, 20_000)).save(path)  # 400 megapixels, a few kilobytes on disk
    return path


def five_class_export(scratch: Path) -> Path:
    folder = scratch / "five"
    folder.mkdir()
    with pytest.warns(UserWarning, match="the classifier .* was re-initialised for 5"):
        zoo.export_model("lenet5", ["safetensors"], folder, weights="fashion_mnist", num_classes=5)
    assert "labels" not in zoo.load_weights(folder / "lenet5.safetensors")[1]  # ten labels do not fit five
    return folder / "lenet5.safetensors"


def missing_key(scratch: Path) -> Path:
    state, header = zoo.load_weights(SHIPPED)
    path = scratch / "partial.safetensors"
    zoo.save_weights({k: v for k, v in state.items() if k != "0.weight"}, path, header)
    return path


def broken_run_json(out: Path) -> Path:
    folder = run_folder(out)
    (folder / "run.json").write_text("{}")
    return folder


def image_folder(scratch: Path, classes: dict[str, int], *, junk: int = 0) -> Path:
    """A folder with ``classes[name]`` small PNGs in each class folder, and ``junk`` files
    in each that are not images."""
    root = scratch / "images"
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("L", (28, 28), color=i * 10).save(root / name / f"{i}.png")
        for i in range(junk):
            (root / name / f"junk{i}.png").write_bytes(b"not an image")
    root.mkdir(exist_ok=True)
    return root


def splits_without(scratch: Path, split: str, missing: str) -> Path:
    """Fixed splits whose ``split`` folder lacks the class folder ``missing`` that train/ has."""
    root = scratch / "splits"
    for name in ("train", split):
        for label in ("cat", "dog"):
            if (name, label) != (split, missing):
                (root / name / label).mkdir(parents=True)
                Image.new("L", (28, 28), 60).save(root / name / label / "0.png")
    return root


def looped(folder: Path) -> Path:
    """``folder`` with a link inside a class folder back to the class folder itself."""
    (folder / "cat" / "again").symlink_to(folder / "cat", target_is_directory=True)
    return folder


def truncated_image(folder: Path) -> Path:
    """``folder`` with a noisy PNG cut in half: PIL opens its header, decoding fails."""
    noise = torch.randint(0, 256, (28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    picture = folder / "cat" / "cut.png"
    Image.fromarray(noise.numpy(), "L").save(picture)
    picture.write_bytes(picture.read_bytes()[: picture.stat().st_size // 2])
    return folder


def constant_calibration(scratch: Path, out: Path) -> list[str]:
    """An int8 export of weights trained on a two-class folder, calibrated on a copy of the
    folder whose training images are one flat grey."""
    _, weights = train_on_two_tones(scratch)
    flat = two_tone_folder(scratch / "flat", constant_train=True)
    return [
        *("export", "fashion_cnn", "--weights", str(weights), "--onnx", "--quantize", "int8"),
        *("--data", str(flat), "--calibration-images", "1", "--out", str(out)),
    ]


def train_on(folder: Path, out: Path) -> list[str]:
    return ["train", "fashion_cnn", "--data", str(folder), "--epochs", "1", "--out", str(out / "run")]


@dataclasses.dataclass(frozen=True)
class Fault:
    what: str
    args: Callable[[Path, Path], list[str]]  # (scratch folder, output folder) -> the arguments
    message: str
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # set for this row's process


FAULTS = [
    Fault(
        "export would replace its own input",
        lambda d, out: [
            *("export", "lenet5", "--weights", str(copy_shipped(out)), "--num-classes", "5"),
            *("--safetensors", "--out", str(out), "--force"),
        ],
        "lenet5.safetensors is the weights file being exported; choose another --out",
    ),
    Fault(
        "export onto an existing file",
        lambda d, out: ["export", "lenet5", "--safetensors", "--out", str(holding_shipped(out))],
        "lenet5.safetensors already exists; replace it with --force or choose another --out",
    ),
    Fault(
        "export onto a read-only file, even with --force",
        lambda d, out: [
            *("export", "lenet5", "--safetensors", "--force"),
            *("--out", str(holding_shipped(out, mode=0o444))),
        ],
        "lenet5.safetensors is read-only; make it writable or choose another --out",
    ),
    Fault(
        "an opset the ONNX exporter cannot write",
        lambda d, out: ["export", "lenet5", "--onnx", "--opset", "13", "--out", str(out)],
        "not the 13 asked for, and onnx cannot convert it",
    ),
    Fault(
        "an input size too large to export",
        lambda d, out: [
            "export",
            "lenet5",
            "--safetensors",
            "--input-size",
            "60000,60000",
            "--out",
            str(out),
        ],
        "input size 60000x60000 is too large to export or time; at most 4096 pixels a side",
    ),
    Fault(
        "a batch size of one",
        lambda d, out: ["train", "lenet5", "--batch-size", "1", "--out", str(out / "run")],
        "batch_size must be an integer of at least 2 (batch norm needs two images), got 1",
    ),
    Fault(
        "an optimizer no plugin registered",
        lambda d, out: ["train", "lenet5", "--optimizer", "adan", "--out", str(out / "run")],
        "unknown optimizer 'adan'. Did you mean 'adam', 'adamw'? Registered optimizers: adam, adamw, sgd.",
    ),
    Fault(
        "an option no part of the recipe takes",
        lambda d, out: ["train", "lenet5", "--set", "ema_decay=0.9", "--out", str(out / "run")],
        "no part of the recipe takes option 'ema_decay'.",
    ),
    Fault(
        "a part's option out of its range",
        lambda d, out: [
            *("train", "lenet5", "--averager", "ema", "--set", "ema_decay=1.5", "--out", str(out / "run")),
        ],
        "averager 'ema': option 'ema_decay' must be at most 0.999999, got 1.5",
    ),
    Fault(
        "--set without a value",
        lambda d, out: ["train", "lenet5", "--set", "ema_decay", "--out", str(out / "run")],
        "--set takes OPTION=VALUE (an option of one of the recipe's parts), got 'ema_decay'",
    ),
    Fault(
        "a bundle whose zoo.json renames the classes",
        lambda d, out: ["predict", "lenet5", str(an_image(d)), "--weights", str(renamed_classes(d))],
        "zoo.json: labels is ('c0', 'c1'",
    ),
    Fault(
        "a bundle whose zoo.json changes the normalisation",
        lambda d, out: ["export", "lenet5", "--weights", str(edited_bundle(d, mean=[0.1])), "--out", out],
        "zoo.json: mean is (0.1,) but the weights file's own header says (0.5,); the bundle was changed",
    ),
    Fault(
        "a run whose validation loss is NaN after its first epoch",
        lambda d, out: [
            *("train", "lenet5", "--recipe", "lesson", "--lr", "1e30", "--epochs", "1", "--subset", "600"),
            *("--out", str(out / "run")),
        ],
        "training diverged: the validation loss became nan in epoch 1; lower the learning rate",
    ),
    Fault(
        "a NaN learning rate for a launched run",
        lambda d, out: ["train", "lenet5", "--nproc", "2", "--lr", "nan", "--out", str(out / "run")],
        "lr must be a positive number, got nan",
    ),
    Fault(
        "a batch that does not split over the launched processes",
        lambda d, out: ["train", "lenet5", "--nproc", "3", "--batch-size", "256", "--out", str(out / "run")],
        "batch size 256 does not split over 3 processes into batches of at least 2",
    ),
    Fault(
        "a launched run on a data folder that is not there",
        lambda d, out: ["train", "lenet5", "--nproc", "2", "--data", str(d / "gone"), "--out", f"{out}/r"],
        "gone is not a folder; --data takes a folder with one sub-folder per class",
    ),
    Fault(
        "resuming a finished run whose checkpoint was deleted",
        lambda d, out: ["train", "--resume", str(finished_without_checkpoint(out))],
        "holds a finished run (its report and weights are there) whose checkpoint is gone",
    ),
    Fault(
        "a tag that climbs out of the hub",
        lambda d, out: ["publish", str(finished_run(d)), "--tag", "../../x", "--to", str(out / "hub")],
        "weights field 'tag' must be 1 to 64 printable characters, not starting with a dot",
    ),
    Fault(
        "a tag that nests one bundle in another",
        lambda d, out: ["publish", str(finished_run(d)), "--tag", "a/b", "--to", str(out / "hub"), "--force"],
        "weights field 'tag' must be 1 to 64 printable characters",
    ),
    Fault(
        "a tag with a newline",
        lambda d, out: ["publish", str(finished_run(d)), "--tag", "a\nb", "--to", str(out / "hub")],
        "weights field 'tag' must be 1 to 64 printable characters",
    ),
    Fault(
        "a plugin's shorthand beside another part of its kind",
        lambda d, out: [
            *("train", "lenet5", "--teacher", "resnet18_small:fashion_mnist", "--trainer", "default"),
            *("--out", str(out / "run")),
        ],
        "--teacher belongs to the trainer distill, but --trainer default was given; drop one of them",
    ),
    Fault(
        "a zoo 0.1 recipe field given as a part's option that the recipe's parts do not take",
        lambda d, out: ["train", "lenet5", "--set", "nesterov=true", "--out", str(out / "run")],
        "no part of the recipe takes option 'nesterov'",
    ),
    Fault(
        "a resumed run given new part options",
        lambda d, out: ["train", "--resume", str(run_folder(out)), "--set", "ema_decay=0.9", "--lr", "0.1"],
        "a resumed run keeps its recipe; drop --lr, --set or start a new run",
    ),
    Fault(
        "a teacher that is not MODEL:WEIGHTS",
        lambda d, out: ["train", "lenet5", "--teacher", "resnet18_small", "--out", str(out / "run")],
        "the distill trainer needs a teacher as MODEL:WEIGHTS",
    ),
    Fault(
        "a teacher that knows other classes",
        lambda d, out: [
            *("train", "lenet5", "--teacher", f"lenet5:{five_class_export(d)}", "--subset", "100"),
            *("--out", str(out / "run")),
        ],
        "predicts 5 classes (?); the student learns 10 (T-shirt/top, ",
    ),
    Fault(
        "resuming from a truncated checkpoint",
        lambda d, out: ["train", "--resume", str(run_folder(out, truncated_checkpoint(d)))],
        "checkpoint.pt is not a readable checkpoint (PytorchStreamReader failed reading zip archive",
    ),
    Fault(
        "resuming a run that stopped before its first checkpoint",
        lambda d, out: ["train", "--resume", str(run_folder(out))],
        "holds a run that stopped before its first checkpoint, so it cannot be resumed; delete the folder",
    ),
    Fault(
        "a new run in the folder of a run that never checkpointed",
        lambda d, out: ["train", "lenet5", "--out", str(run_folder(out))],
        "holds a run that stopped before its first checkpoint, so it cannot be resumed; delete the folder",
    ),
    Fault(
        "a run folder whose run.json is broken",
        lambda d, out: ["train", "--resume", str(broken_run_json(out))],
        "is not a zoo run folder (run.json: KeyError: 'model')",
    ),
    Fault(
        "damaged Fashion-MNIST files",
        lambda d, out: [
            *("eval", "lenet5", "--weights", "fashion_mnist"),
            *("--data-dir", str(damaged_dataset(d)), "--no-download"),
        ],
        "train-images-idx3-ubyte is damaged: its dimensions are (0, 0, 0), not (60000, 28, 28)",
    ),
    Fault(
        "weights that are a device, not a file",
        lambda d, out: ["eval", "lenet5", "--weights", "/dev/zero"],
        "weights file /dev/zero is not a regular file",
    ),
    Fault(
        "an empty weights name",
        lambda d, out: ["eval", "lenet5", "--weights", ""],
        "weights must be a tag, a .safetensors file or a bundle folder, got ''",
    ),
    Fault(
        "a folder given as weights",
        lambda d, out: ["eval", "lenet5", "--weights", str(d)],
        "is a folder but not a weights bundle: it has no zoo.json",
    ),
    Fault(
        "weights missing a tensor",
        lambda d, out: ["eval", "lenet5", "--weights", str(missing_key(d))],
        "the weights do not fit lenet5: missing 0.weight",
    ),
    Fault(
        "evaluating an export with other classes than the dataset",
        lambda d, out: ["eval", "lenet5", "--weights", str(five_class_export(d))],
        "has 5 classes and 1 input channels, but fashion_mnist has 10 and 1",
    ),
    Fault(
        "an image folder with an empty class folder",
        lambda d, out: train_on(image_folder(d, {"cat": 4, "dog": 0}), out),
        "/images/dog holds no readable images; add some or remove it",
    ),
    Fault(
        "an image folder whose class folder holds only unreadable files",
        lambda d, out: train_on(image_folder(d, {"cat": 4, "dog": 0}, junk=2), out),
        "/images/dog holds no readable images",
    ),
    Fault(
        "an image folder with a single class",
        lambda d, out: train_on(image_folder(d, {"cat": 4}), out),
        "has 1 class folder (cat): put each class's images in its own sub-folder, at least two classes",
    ),
    Fault(
        "an image folder with no class folders",
        lambda d, out: train_on(image_folder(d, {}), out),
        "has 0 class folders: put each class's images in its own sub-folder",
    ),
    Fault(
        "a validation split without a class the training split has",
        lambda d, out: train_on(splits_without(d, "val", "dog"), out),
        "splits/val has no folder for class 'dog', which the training split has",
    ),
    Fault(
        "a test split without a class the training split has",
        lambda d, out: train_on(splits_without(d, "test", "cat"), out),
        "splits/test has no folder for class 'cat', which the training split has",
    ),
    Fault(
        "an image folder with a symlink loop",
        lambda d, out: train_on(looped(image_folder(d, {"cat": 4, "dog": 4})), out),
        "links back to a folder already read (a loop); remove the link",
    ),
    Fault(
        "an image folder that does not exist",
        lambda d, out: train_on(d / "nowhere", out),
        "nowhere is not a folder; --data takes a folder with one sub-folder per class",
    ),
    Fault(
        "fixed splits without a train folder",
        lambda d, out: train_on(image_folder(d, {"val/cat": 2, "val/dog": 2}), out),
        "has split folders (val) but no train/",
    ),
    Fault(
        "a test split with a class the training split lacks",
        lambda d, out: train_on(image_folder(d, {"train/cat": 2, "train/dog": 2, "test/cow": 2}), out),
        "has class folders the training split lacks: cow",
    ),
    Fault(
        "an image that opens but cannot be decoded",
        lambda d, out: train_on(truncated_image(image_folder(d, {"cat": 4, "dog": 4})), out),
        "cannot decode an image: cannot read image",
    ),
    Fault(
        "an image folder and a dataset folder at once",
        lambda d, out: [*train_on(image_folder(d, {"cat": 4, "dog": 4}), out), "--data-dir", str(d)],
        "give --data (an image folder) or --data-dir (where a registered dataset is), not both",
    ),
    Fault(
        "fine-tuning from weights the model does not have",
        lambda d, out: [*train_on(image_folder(d, {"cat": 4, "dog": 4}), out), "--weights", "imagenet"],
        "fashion_cnn has no weights 'imagenet'; its weights tags: fashion_mnist",
    ),
    Fault(
        "an int8 export calibrated on one constant image",
        constant_calibration,
        "loses 50.00 points of top-1 on image_folder at",
    ),
    Fault(
        "dynamic sizes for a graph that keeps one size",
        lambda d, out: ["export", "fashion_cnn", "--onnx", "--dynamic-size", "--out", str(out)],
        "at batch size 1 and input 1x42x42 onnxruntime fails (InvalidArgument: [ONNXRuntimeError] : 2 : "
        "INVALID_ARGUMENT : Non-zero status code returned while running FusedGemm node.",
    ),
    Fault(
        "dynamic sizes for a program that keeps one size",
        lambda d, out: ["export", "fashion_cnn", "--pt2", "--dynamic-size", "--out", str(out)],
        "the reloaded program cannot take input 1x42x42",
    ),
    Fault(
        "an export given an image folder and a dataset folder at once",
        lambda d, out: [
            "export",
            "lenet5",
            "--onnx",
            "--data",
            str(d),
            "--data-dir",
            str(d),
            "--out",
            str(out),
        ],
        "give --data (an image folder) or --data-dir (where a registered dataset is), not both",
    ),
    Fault(
        "a memory budget that is not a number",
        lambda d, out: train_on(image_folder(d, {"cat": 4, "dog": 4}), out),
        "$ZOO_MEMORY_BUDGET must be a number of MiB, got 'lots'",
        env={"ZOO_MEMORY_BUDGET": "lots"},
    ),
    Fault(
        "several machines without a rendezvous endpoint",
        lambda d, out: ["train", "lenet5", "--nnodes", "2", "--out", str(out / "run")],
        "--nnodes needs --rdzv-endpoint HOST:PORT, the same on every machine",
    ),
    Fault(
        "several machines without a run folder",
        lambda d, out: ["train", "lenet5", "--nnodes", "2", "--rdzv-endpoint", "127.0.0.1:29400"],
        "--nnodes needs --out: every machine must name the same run folder",
    ),
    Fault(
        "a rendezvous endpoint without a port",
        lambda d, out: [
            *("train", "lenet5", "--nproc", "2", "--rdzv-endpoint", "localhost"),
            *("--out", str(out / "run")),
        ],
        "--rdzv-endpoint must be HOST:PORT, got 'localhost'",
    ),
    Fault(
        "a 5000-character model name",
        lambda d, out: ["info", "a" * 5000],
        "unknown model 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...(5,003 characters)",
    ),
    Fault(
        "a file given as the run folder",
        lambda d, out: [*train_on(two_tone_folder(d / "images"), out)[:-1], str(out / "good.txt")],
        "good.txt is a file, not a folder; choose another --out",
    ),
    Fault(
        "a file given as the eval report folder",
        lambda d, out: ["eval", "lenet5", "--weights", "fashion_mnist", "--out", str(out / "good.txt")],
        "good.txt' is a file",
    ),
    Fault(
        "a logger no plugin registered",
        lambda d, out: ["train", "lenet5", "--logger", "wandb", "--out", str(out / "run")],
        "unknown logger 'wandb'. Registered loggers:",
    ),
    Fault(
        "a ZOO_HOME that is a file",
        lambda d, out: ["weights", "list", "--hub", str(ROOT / "weights")],
        "ZOO_HOME (home-file) is a file, not a folder; point it at a folder",
        env={"ZOO_HOME": "home-file"},
    ),
    Fault(
        "a missing required option",
        lambda d, out: ["eval", "lenet5"],
        "Missing option '--weights'; see 'zoo eval --help'",
    ),
    Fault(
        "an image too large to decode",
        lambda d, out: ["predict", "lenet5", str(huge_image(d))],
        "huge.png is too large to decode safely",
    ),
]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.what for f in FAULTS])
def test_a_bad_input_fails_in_a_few_lines_and_changes_nothing(fault: Fault, tmp_path) -> None:
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    (scratch / "home-file").write_text("a file where a folder should be")
    (out / "good.txt").write_text("a file that was here before")
    args = fault.args(scratch, out)
    before = snapshot(out)
    result = zoo_process(*args, cwd=scratch, env=fault.env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and 1 <= len(lines) <= 3, result.stderr
    assert fault.message in result.stderr, result.stderr
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "args", [["eval", "lenet5"], ["evl"], ["export", "lenet5", "--opset", "x"], ["list", "--bogus"]]
)
def test_a_usage_mistake_is_one_line_naming_the_help_to_read(args, tmp_path) -> None:
    result = zoo_process(*args, cwd=tmp_path)
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode == 2 and line.startswith("Error: ") and " --help'" in line, line


def test_a_zoo_home_that_cannot_be_written_still_trains_on_a_folder(tmp_path) -> None:
    images = two_tone_folder(tmp_path / "images")
    home = tmp_path / "home-is-a-file"
    home.write_text("not a folder")
    result = zoo_process(
        *train_on(images, tmp_path), "--no-progress", cwd=tmp_path, env={"ZOO_HOME": str(home)}
    )
    assert result.returncode == 0, result.stderr
    assert "Warning: cannot keep decoded images in" in result.stderr and "; not cached" in result.stderr
    assert (tmp_path / "run" / "best.safetensors").is_file() and home.read_text() == "not a folder"


def test_sigterm_during_an_export_leaves_no_temporary_file(tmp_path) -> None:
    export = subprocess.Popen(
        [sys.executable, "-m", "zoo_core", "export", "resnet18", "--onnx", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".*")) and export.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the exporter has its temporary file
    assert list(tmp_path.glob(".*")), "the export never started writing"
    export.send_signal(signal.SIGTERM)
    _, stderr = export.communicate(timeout=120)
    assert export.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("disk", "file"), [(150_000, "best.safetensors"), (400_000, "checkpoint.pt")])
def test_a_full_disk_while_training_names_the_file_and_leaves_no_temporary(disk, file, tmp_path) -> None:
    two_tone_folder(tmp_path / "images")
    out = tmp_path / "run"
    result = run_python(
        *("-m", "zoo_core", "train", "lenet5", "--data", str(tmp_path / "images"), "--epochs", "1"),
        *("--out", str(out), "--no-progress"),
        disk=disk,
        env={"ZOO_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot write {out / file}: File too large; nothing was left half-written"
    )
    assert not out.exists() or not list(out.glob(".*"))


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill: {mounted.stderr.strip() or 'mount failed'}")
    try:
        result = zoo_process("export", "resnet18_small", "--safetensors", "--out", str(disk), cwd=tmp_path)
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert "No space left on device" in line and "Traceback" not in result.stderr
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)
