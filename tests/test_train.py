"""Training on real Fashion-MNIST slices: learning, run files, resume after SIGKILL, DDP, errors."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core import hookimpl, load_weights
from zoo_core.host import plugins
from zoo_core.runtime.devices import native_bf16
from zoo_plugins.datasets import fashion_mnist

SMOKE = ["--subset", "2000", "--no-progress", "--device", "cpu"]


def zoo_process(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zoo_core", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def zoo_run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo_core", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A three-epoch run of fashion_cnn on 3,000 real training images."""
    cwd = tmp_path_factory.mktemp("train")
    result = zoo_run(
        "train",
        "fashion_cnn",
        "--recipe",
        "lesson",
        "--epochs",
        "3",
        "--subset",
        "3000",
        "--no-progress",
        "--out",
        "run",
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return cwd / "run"


def test_progress_bars_are_drawn_on_a_terminal_only(tmp_path) -> None:
    """A run whose stderr goes to a file (a CI log) gets its epoch lines and no bar frames."""
    result = zoo_run("train", "lenet5", "--epochs", "2", "--subset", "600", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "step/s" not in result.stderr


@pytest.mark.parametrize("terminal", [True, False])
def test_long_silent_steps_count_on_a_terminal_only(terminal, monkeypatch, capsys) -> None:
    from zoo_core.base import progress as bars

    monkeypatch.setattr(bars, "on_terminal", lambda: terminal)
    assert list(zoo.progress(iter(range(5)), total=5, desc="accuracy check")) == list(range(5))
    drawn = capsys.readouterr().err
    assert ("accuracy check" in drawn and "/5 " in drawn) is terminal
    assert terminal or drawn == ""


def test_a_short_run_learns_and_writes_its_run_folder(trained) -> None:
    report = json.loads((trained / "report.json").read_text())
    assert report["test_accuracy"] > 0.6  # chance is 0.1
    assert report["epochs"] == 3 and report["steps"] == 30  # 2,400 training images, batch 256
    assert 1 <= report["best_epoch"] <= 3
    assert report["test_images"] == 600
    assert report["images_per_second"] > 0 and report["device"].startswith("cpu")
    metrics = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    assert json.loads((trained / "recipe.json").read_text())["name"] == "lesson"
    assert (trained / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, meta = load_weights(trained / "best.safetensors")
    assert meta["model"] == "fashion_cnn" and json.loads(meta["labels"])[0] == "T-shirt/top"
    checkpoint = torch.load(trained / "checkpoint.pt", weights_only=True)
    assert checkpoint["trainer"]["epoch"] == 3 and len(checkpoint["history"]) == 3
    last, _ = load_weights(trained / "last.safetensors")  # the epoch-3 weights, whichever was best
    assert last.keys() == checkpoint["model"].keys()
    assert all(torch.equal(last[k], checkpoint["model"][k]) for k in last)


def test_a_run_reports_each_class_and_draws_its_confusion_matrix_and_worst_mistakes(trained) -> None:
    report = json.loads((trained / "report.json").read_text())
    classes = report["test_report"]
    confusion = np.array(classes["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == report["test_images"]
    assert confusion.trace() / confusion.sum() == pytest.approx(report["test_accuracy"])
    assert classes["top_k_accuracy"]["1"] == pytest.approx(report["test_accuracy"])
    top = [classes["top_k_accuracy"][str(k)] for k in range(1, 6)]
    assert top == sorted(top) and top[-1] > top[0]
    per_class = list(classes["per_class"].values())
    recall = confusion.diagonal() / confusion.sum(1)
    precision = confusion.diagonal() / np.maximum(confusion.sum(0), 1)
    assert [c["recall"] for c in per_class] == pytest.approx(recall.tolist())
    assert [c["precision"] for c in per_class] == pytest.approx(precision.tolist())
    assert [c["support"] for c in per_class] == confusion.sum(1).tolist()
    worst = classes["worst_mistakes"]
    assert 0 < len(worst) <= 16 and all(m["label"] != m["predicted"] for m in worst)
    for name in ("confusion-test.png", "errors-test.png"):
        assert (trained / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((trained / "eval-test.json").read_text()) == classes


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="reads the CPU's flags from Linux's /proc")
def test_the_default_precision_is_bf16_exactly_where_the_cpu_computes_in_bf16(trained) -> None:
    cpu = torch.device("cpu")
    flags = next(
        (
            line.split(":", 1)[1].split()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        [],
    )
    assert native_bf16(cpu) == ("avx512_bf16" in flags)
    assert json.loads((trained / "report.json").read_text())["amp"] == native_bf16(cpu)


def test_eval_reproduces_the_reported_test_accuracy(trained, zoo_cli) -> None:
    report = json.loads((trained / "report.json").read_text())
    result = zoo_cli("eval", "fashion_cnn", "--weights", str(trained / "best.safetensors"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["images"] == 10_000  # eval uses the whole test set
    assert len(data["per_class_accuracy"]) == 10
    assert abs(data["accuracy"] - report["test_accuracy"]) < 0.05
    val = json.loads(
        zoo_cli(
            "eval", "fashion_cnn", "--weights", str(trained / "best.safetensors"), "--split", "val", "--json"
        ).output
    )
    assert val["images"] == 12_000  # the lesson's 20% of 60,000
    text = zoo_cli("eval", "fashion_cnn", "--weights", str(trained / "best.safetensors")).output
    assert "accuracy" in text and "Ankle boot" in text and "top-5" in text and "macro F1" in text
    # the report lands in the run's folder, now of the whole test split
    assert f"report: {trained / 'confusion-test.png'}" in text
    again = json.loads((trained / "eval-test.json").read_text())
    assert np.array(again["confusion_matrix"]).sum() == 10_000
    assert again["confusion_matrix"] == data["confusion_matrix"]
    assert data["per_class"]["Trouser"]["recall"] == pytest.approx(data["per_class_accuracy"]["Trouser"])


def test_eval_refuses_weights_of_another_model(trained, zoo_cli) -> None:
    result = zoo_cli("eval", "lenet5", "--weights", str(trained / "best.safetensors"))
    assert result.exit_code == 1
    assert "holds weights for 'fashion_cnn', not 'lenet5'" in result.output


@pytest.mark.parametrize(
    "extra",
    [[], ["--averager", "ema"], ["--teacher", "resnet18_small:fashion_mnist"]],
    ids=["default", "ema", "distill"],
)
def test_resume_after_sigkill_gives_the_same_weights(tmp_path, extra) -> None:
    args = ["train", "fashion_cnn", "--epochs", "4", *SMOKE, *extra]
    straight = zoo_run(*args, "--out", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr

    victim = zoo_process(*args, "--out", "killed", cwd=tmp_path)
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():  # the first epoch is saved; the second is under way
        assert victim.poll() is None, victim.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "report.json").exists()

    resumed = zoo_run("train", "--resume", "killed", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    for name in ("best.safetensors", "last.safetensors"):
        a, _ = load_weights(tmp_path / "straight" / name)
        b, _ = load_weights(tmp_path / "killed" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last_a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    last_b = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert last_a["history"][-1]["val_loss"] == last_b["history"][-1]["val_loss"]
    assert same_state(last_a["model"], last_b["model"]) and same_state(last_a["averager"], last_b["averager"])
    report_a = json.loads((tmp_path / "straight" / "report.json").read_text())
    report_b = json.loads((tmp_path / "killed" / "report.json").read_text())
    assert report_a["test_accuracy"] == report_b["test_accuracy"]
    assert len((tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()) == 4


def same_state(a: object, b: object) -> bool:
    """Two (nested) state dicts hold the same values, tensors bit for bit."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def test_two_process_ddp_on_gloo_ends_with_identical_weights(tmp_path) -> None:
    result = zoo_run(
        "train", "fashion_cnn", "--nproc", "2", "--epochs", "2", *SMOKE, "--out", "ddp", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "ddp" / "report.json").read_text())
    assert report["world_size"] == 2
    first, second = report["rank_checksums"]
    assert first == second
    assert report["test_accuracy"] > 0.5
    assert report["steps"] == 14  # 800 images per process and epoch, 128 a step: 7 steps, 2 epochs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "adamm"], "unknown optimizer 'adamm'. Did you mean 'adam', 'adamw'? Registered"),
        (["--lr", "-0.1"], "lr must be a positive number, got -0.1"),
        (["--augment", "flip,spin"], "unknown augmentation 'spin'"),
        (["--averager", "ema", "--set", "ema_decay=2"], "option 'ema_decay' must be at most 0.999999, got 2"),
        (["--set", "ema_decay=0.9"], "no part of the recipe takes option 'ema_decay'"),
        (["--set", "ema_decay"], "--set takes OPTION=VALUE (an option of one of the recipe's parts)"),
        (["--teacher", "resnet18_small"], "the distill trainer needs a teacher as MODEL:WEIGHTS"),
        (["--teacher", "resnet18_small:imagenet"], "resnet18_small has no weights 'imagenet'"),
        (["--recipe", "turbo"], "fashion_cnn has no recipe 'turbo'; its recipes: "),
        (["--max-steps", "0"], "--max-steps must be a positive integer"),
    ],
)
def test_invalid_overrides_fail_before_a_run_folder_exists(
    zoo_cli, tmp_path, monkeypatch, args, message
) -> None:
    monkeypatch.chdir(tmp_path)
    result = zoo_cli("train", "fashion_cnn", *args, "--no-progress")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_dataset_is_a_one_line_error(zoo_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian-package")
    result = zoo_cli("train", "fashion_cnn", "--data-dir", str(tmp_path / "data"), "--no-download")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "Fashion-MNIST is not in" in result.output
    assert "apt-get install dataset-fashion-mnist" in result.output
    assert not (tmp_path / "runs").exists()


def test_debian_files_are_unpacked_into_the_data_dir(tmp_path, monkeypatch) -> None:
    if not fashion_mnist.DEBIAN_DIR.is_dir():
        pytest.fail("Debian's dataset-fashion-mnist is not installed: run ./install.sh")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "cache"))
    data = fashion_mnist.load(data_dir=tmp_path / "data", download=False)
    assert data.train_images.shape == (60_000, 1, 28, 28) and data.test_labels.shape == (10_000,)
    assert sorted(p.name for p in fashion_mnist.raw_folder(tmp_path / "data").iterdir()) == sorted(
        fashion_mnist.RAW_FILES
    )


def test_a_diverging_run_stops_with_a_clear_error_and_leaves_nothing(zoo_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = zoo_cli("train", "fashion_cnn", "--optimizer", "sgd", "--lr", "1e30", "--epochs", "2", *SMOKE)
    assert result.exit_code == 1
    assert "training diverged: the loss became nan in epoch 1" in result.output
    assert list((tmp_path / "runs").iterdir()) == []


class Recorder:
    """A third-party logger: it records the trainer's hook calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    @hookimpl
    def zoo_train_start(self, run) -> None:
        self.calls.append(("start", len(run.history)))

    @hookimpl
    def zoo_train_epoch_end(self, run, metrics) -> None:
        self.calls.append(("epoch", metrics["epoch"]))

    @hookimpl
    def zoo_train_end(self, run, report) -> None:
        self.calls.append(("end", report["epochs"]))


def test_a_third_party_logger_gets_the_hooks_the_built_in_one_prints_from(
    tmp_path, fresh_plugins, capsys
) -> None:
    from zoo_core.training import Settings, train

    recorder = Recorder()
    plugins.get_host().register(recorder, "recorder")
    recipe = zoo.get_recipe("fashion_cnn", "lesson", epochs=2)
    report = train(
        "fashion_cnn", recipe, Settings(device="cpu", subset=500), out=tmp_path / "run", progress=False
    )
    assert recorder.calls == [("start", 0), ("epoch", 1), ("epoch", 2), ("end", 2)]
    lines = capsys.readouterr().out.splitlines()  # printed by the built-in run logger
    assert lines[0].startswith("data: fashion_mnist (10 classes), 400 train / 100 val / 100 test images")
    assert lines[1].startswith("smoke run (--subset 500): the first 500 training images")
    assert [line.split()[:2] for line in lines[2:4]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert lines[-1] == (
        f"all 2 epochs done; best epoch {report['best_epoch']}: test accuracy {report['test_accuracy']:.4f}, "
        f"loss {report['test_loss']:.4f} ({tmp_path / 'run'})"
    )


def test_the_csv_and_tensorboard_loggers_hold_what_metrics_jsonl_holds(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = ["train", "lenet5", "--epochs", "2", "--subset", "600", "--no-progress", "--out", "run"]
    result = zoo_run(*args, "--logger", "csv", "--logger", "tensorboard", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    with open(run / "metrics.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [float(r["val_loss"]) for r in rows] == [m["val_loss"] for m in history]

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert {"loss/train", "loss/val", "accuracy/val", "learning_rate"} <= set(events.Tags()["scalars"])
    val = events.Scalars("loss/val")
    assert [e.step for e in val] == [1, 2]
    assert [e.value for e in val] == pytest.approx([m["val_loss"] for m in history], rel=1e-6)
    report = json.loads((run / "report.json").read_text())
    (test,) = events.Scalars("accuracy/test")
    assert test.value == pytest.approx(report["test_accuracy"], rel=1e-6)


def test_a_run_without_logger_flags_writes_no_logger_files(tmp_path) -> None:
    result = zoo_run(
        "train", "lenet5", "--epochs", "1", "--subset", "300", "--no-progress", "--out", "run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "run" / "metrics.csv").exists() and not (tmp_path / "run" / "tensorboard").exists()


@pytest.mark.parametrize("best_by", ["val_loss", "val_accuracy"])
def test_the_best_weights_are_chosen_by_the_recipes_best_by(best_by, tmp_path) -> None:
    from zoo_core.training import Settings, train

    recipe = zoo.get_recipe("lenet5", epochs=4, best_by=best_by, seed=3)
    report = train("lenet5", recipe, Settings(subset=400), out=tmp_path / "run", progress=False)
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    if best_by == "val_accuracy":
        best = max(history, key=lambda m: (m["val_accuracy"], -m["epoch"]))  # the first of the highest
    else:
        best = min(history, key=lambda m: (m["val_loss"], m["epoch"]))
    assert report["best_epoch"] == best["epoch"]
    assert report["best_val_accuracy"] == best["val_accuracy"] and report["best_val_loss"] == best["val_loss"]


def test_a_best_by_that_is_not_a_validation_figure_is_one_line() -> None:
    with pytest.raises(
        zoo.RecipeError, match="best_by must be one of val_loss, val_accuracy, got 'train_loss'"
    ):
        zoo.get_recipe("lenet5", best_by="train_loss")


@pytest.mark.parametrize(("augment", "mirrored"), [((), False), (("flip",), True)])
def test_test_time_mirroring_needs_a_run_that_trained_on_mirrored_images(augment, mirrored, tmp_path) -> None:
    """TTA averages each image with its mirror image; a run never shown a mirrored image does
    not get tested (or predict) that way, whatever its recipe's tta says."""
    from zoo_core.models.predict import predict
    from zoo_core.training import Settings, train

    recipe = zoo.get_recipe("lenet5", epochs=1, tta=True, augment=augment)
    report = train("lenet5", recipe, Settings(subset=300), out=tmp_path / "run", progress=False)
    assert ("test_accuracy_tta" in report) is mirrored
    assert ("tta" in report) is mirrored  # measured on the validation split, and decided there
    helps = mirrored and report["tta"]["val_accuracy_tta"] > report["tta"]["val_accuracy"]
    assert mirrored is False or report["tta"]["helps"] is helps
    _, header = load_weights(tmp_path / "run" / "best.safetensors")
    assert ("val_accuracy_tta" in json.loads(header["metrics"])) is mirrored
    image = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 90, dtype=np.uint8)).save(image)
    (result,) = predict("lenet5", [image], weights=tmp_path / "run" / "best.safetensors")
    assert result["mirrored"] is helps
    (single,) = predict("lenet5", [image], weights=tmp_path / "run" / "best.safetensors", tta=False)
    assert single["mirrored"] is False


@pytest.mark.parametrize(("best_by", "best_epoch"), [("val_loss", 3), ("val_accuracy", 4)])
def test_observe_stars_the_epoch_best_by_the_recipes_figure(best_by, best_epoch) -> None:
    from zoo_core.training.session import TrainingSession, TrainingState

    session = TrainingSession.__new__(TrainingSession)  # observe reads only the recipe and the state
    session.recipe, session.state = zoo.get_recipe("lenet5", best_by=best_by), TrainingState()
    for epoch, (loss, accuracy) in enumerate(
        [(1.0, 0.5), (0.8, 0.7), (0.7, 0.65), (0.9, 0.72), (0.95, 0.6)], 1
    ):
        session.state.epoch = epoch
        session.observe(loss, accuracy)
    assert session.state.best_epoch == best_epoch
    assert session.state.bad_epochs == 5 - best_epoch


def test_a_fine_tune_from_trained_weights_beats_training_from_scratch(tmp_path) -> None:
    """The same command with and without --weights, on a four-class, rotated folder made from
    Fashion-MNIST images the weights never saw: the fine-tune recipe must pay."""
    from .helpers import regrouped_fashion_folder

    folder = regrouped_fashion_folder(tmp_path / "images", train=100, val=25, test=100)
    reports = {}
    for name, extra in (("scratch", ()), ("fine-tune", ("--weights", "fashion_mnist"))):
        args = ["train", "fashion_cnn", "--data", str(folder), "--epochs", "10", "--no-progress", "--json"]
        result = zoo_run(*args, *extra, "--out", name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(result.stdout)
    assert (
        "fine-tuning from fashion_mnist: fashion_cnn's 'augmented' recipe made for fine-tuning"
        in result.stderr
    )
    recipe = json.loads((tmp_path / "fine-tune" / "recipe.json").read_text())
    assert (recipe["name"], recipe["best_by"], recipe["augment"]) == ("finetune", "val_accuracy", [])
    assert reports["fine-tune"]["test_accuracy"] >= reports["scratch"]["test_accuracy"] + 0.01, reports
