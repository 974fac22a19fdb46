"""Training on several processes and machines with torchrun, on the CPU with gloo, every process
on 127.0.0.1: two "nodes" meeting at a c10d rendezvous, shards that cover every image once, and
an elastic restart after a worker is killed that ends with the same weights as a run that was
not."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo_core import get_recipe, load_weights
from zoo_core.runtime.distributed import Process, shard

from .helpers import ROOT, two_tone_folder
from .test_third_party import fake_distribution

# lenet5 has neither dropout nor batch norm, and without augmentation nothing random differs
# between one process with a batch of 128 and two with 64 each: the same images make each step.
# In fp32, so that only the order of the gradient sums differs (bf16 would round that up to 1e-2).
SHORT = [
    "--epochs",
    "2",
    "--subset",
    "1024",
    "--batch-size",
    "128",
    "--augment",
    "none",
    "--no-amp",
    "--no-progress",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zoo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zoo_core", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err[-3000:]
    return out, err


def processes_in(folder: Path) -> list[int]:
    """Processes still working in ``folder`` (their current directory): orphaned workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder.resolve():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_weights(path)[0]


@pytest.mark.parametrize(("n", "world"), [(820, 2), (999, 3), (10, 4)])
def test_the_shards_of_an_epoch_cover_each_image_once(n: int, world: int) -> None:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    shards = [shard(order, Process(rank, world)) for rank in range(world)]
    seen = torch.cat(shards)
    assert len({len(s) for s in shards}) == 1  # equal shards: every rank makes the same steps
    assert len(seen) == n - n % world and len(set(seen.tolist())) == len(seen)  # none twice
    assert set(seen.tolist()) <= set(order.tolist())


def test_two_nodes_train_like_one_process_and_only_rank_0_writes(tmp_path) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    nodes = [tmp_path / "node-a", tmp_path / "node-b"]
    for node in nodes:
        node.mkdir()
    launches = [
        zoo(
            *("train", "lenet5", *SHORT, "--nproc", "1", "--nnodes", "2"),
            *("--rdzv-endpoint", endpoint, "--out", "run"),
            cwd=node,
            env={"ZOO_HOME": str(node / ".zoo")},
        )
        for node in nodes
    ]
    outputs = [finished(launch) for launch in launches]
    assert not [pid for node in nodes for pid in processes_in(node)]
    written = [node for node in nodes if (node / "run").exists()]
    assert len(written) == 1, "exactly one node holds the run folder"
    (first_line,) = [out.splitlines()[0] for out, _ in outputs if out.strip()]
    assert first_line.endswith("; 2 processes on 2 nodes")
    report = json.loads((written[0] / "run" / "report.json").read_text())
    assert report["world_size"] == 2 and report["rank_checksums"][0] == report["rank_checksums"][1]

    single = tmp_path / "single"
    single.mkdir()
    finished(zoo("train", "lenet5", *SHORT, "--out", "run", cwd=single))
    assert json.loads((single / "run" / "report.json").read_text())["amp"] is False
    one, two = weights(single / "run" / "last.safetensors"), weights(written[0] / "run" / "last.safetensors")
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], atol=1e-5, rtol=1e-4)


KILLER = """
import os
import signal

from zoo_core import hookimpl


@hookimpl
def zoo_train_epoch_end(run, metrics):
    # rank 0, on the first attempt only: die without a word once epoch 2's files are on their way
    if metrics["epoch"] == 2 and os.environ.get("TORCHELASTIC_RESTART_COUNT") == "0":
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("nproc", ["2", "1"])
def test_an_elastic_restart_after_sigkill_ends_with_identical_weights(nproc: str, tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    fake_distribution(site, "zoo-killer", "killer", KILLER)
    runs = {}
    for name, env in (("straight", {}), ("killed", {"PYTHONPATH": f"{site}{os.pathsep}{ROOT}"})):
        folder = tmp_path / name
        folder.mkdir()
        args = ("train", "lenet5", *SHORT, "--epochs", "4", "--nproc", nproc, "--max-restarts", "1")
        out, _ = finished(zoo(*args, "--out", "run", cwd=folder, env=env))
        assert not processes_in(folder)  # no worker outlives the run, killed or not
        runs[name] = folder / "run"
    assert re.search(r"^resuming .*run after epoch [12]$", out, re.MULTILINE), out  # from the last checkpoint
    killed = json.loads((runs["killed"] / "report.json").read_text())
    assert killed["epochs"] == 4 and killed["world_size"] == int(nproc)
    for file in ("best.safetensors", "last.safetensors"):
        a, b = weights(runs["straight"] / file), weights(runs["killed"] / file)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len((runs["killed"] / "metrics.jsonl").read_text().splitlines()) == 4


def test_a_worker_killed_without_restarts_is_one_line_naming_the_rank_and_the_resume(tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    fake_distribution(site, "zoo-killer", "killer", KILLER)
    args = ("train", "lenet5", *SHORT, "--epochs", "4", "--nproc", "2", "--out", "run")
    process = zoo(*args, cwd=tmp_path, env={"PYTHONPATH": f"{site}{os.pathsep}{ROOT}"})
    _, err = process.communicate(timeout=240)
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        "Error: worker rank 0 was killed by SIGKILL; zoo train --resume run goes on from its last checkpoint "
        "(--max-restarts N restarts it)"
    ]
    assert not processes_in(tmp_path)


def test_a_mistake_found_in_every_worker_is_said_once(tmp_path) -> None:
    """A data folder that breaks only once the workers read it (a class of the test split that
    training lacks): each rank finds it, the launcher says it once, without torchrun's report."""
    images = two_tone_folder(tmp_path / "images")
    (images / "test" / "extra").mkdir()
    (images / "test" / "dark" / "0.png").rename(images / "test" / "extra" / "0.png")
    args = ("train", "lenet5", "--data", str(images), "--epochs", "1", "--nproc", "2", "--out", "run")
    process = zoo(*args, "--no-progress", cwd=tmp_path)
    _, err = process.communicate(timeout=240)
    (line,) = err.strip().splitlines()
    assert process.returncode == 1 and line.startswith("Error: ") and "extra" in line, err
    assert not processes_in(tmp_path)


def test_a_restart_never_takes_up_a_run_that_was_in_out_before_the_command(tmp_path) -> None:
    finished(zoo("train", "lenet5", *SHORT, "--epochs", "1", "--out", "run", cwd=tmp_path))
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    args = ("train", "lenet5", *SHORT, "--lr", "0.05", "--epochs", "4", "--max-restarts", "1", "--out", "run")
    process = zoo(*args, cwd=tmp_path)
    out, err = process.communicate(timeout=240)
    assert process.returncode != 0, out  # refused, as without --max-restarts: not a silent resume
    assert "already exists and is not an empty folder" in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
    assert not processes_in(tmp_path)


def test_sigterm_to_a_launched_run_stops_every_worker_and_says_where_to_go_on(tmp_path) -> None:
    args = ("train", "lenet5", *SHORT, "--epochs", "200", "--nproc", "2", "--out", "run")
    launcher = zoo(*args, cwd=tmp_path)
    deadline = time.monotonic() + 180
    while not (tmp_path / "run" / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "run" / "checkpoint.pt").exists(), "the run never wrote a checkpoint"
    launcher.send_signal(signal.SIGTERM)
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode == 128 + signal.SIGTERM
    assert "stopped; the last checkpoint is in run: zoo train --resume run goes on" in err
    assert not processes_in(tmp_path)  # torchrun and both workers are gone


COUNTER = """
import dataclasses
import os

from zoo_core import hookimpl
from zoo_plugins.datasets import image_folder


class Counted:
    \"\"\"A split that notes every image it decodes, in every process and worker.\"\"\"

    def __init__(self, samples):
        self.samples, self.labels, self.key = samples, samples.labels, None  # never cached

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        with open(os.environ["ZOO_TEST_COUNTS"], "a") as log:
            log.write(self.samples.files[index] + "\\n")
        return self.samples[index]


def load(*, data_dir, download):
    data = image_folder.load(data_dir=data_dir)
    counted = {split: Counted(getattr(data, split)) for split in ("train", "val", "test")}
    return dataclasses.replace(data, **counted)


@hookimpl
def zoo_register_datasets(register):
    register("counted_folder", load, description="An image folder that counts its decodings.")
"""


@pytest.fixture
def counted(tmp_path):
    """Run lenet5 for 3 epochs on a counting image folder (60 train, 20 val, 40 test images)
    with ``nproc`` processes; return the run's first line, how often each split's images were
    decoded, and its report."""
    site = tmp_path / "site"
    site.mkdir()
    fake_distribution(site, "zoo-counter", "counter", COUNTER)
    folder = two_tone_folder(tmp_path / "images")  # 80 train (40 a class), 40 test
    for name in ("dark", "light"):  # and a fixed validation split of 2 x 10
        (folder / "val" / name).mkdir(parents=True)
        for picture in sorted((folder / "train" / name).iterdir())[:10]:
            picture.rename(folder / "val" / name / picture.name)
    recipe = tmp_path / "recipe.json"
    lenet5 = get_recipe("lenet5", dataset="counted_folder", epochs=3, batch_size=16, augment=())
    recipe.write_text(json.dumps(lenet5.to_dict()))

    def run(nproc: str, **env: str) -> tuple[str, dict[str, set[int]], dict]:
        counts, cwd = tmp_path / f"counts-{nproc}.txt", tmp_path / f"run-{nproc}"
        cwd.mkdir()
        args = ("train", "lenet5", "--recipe", str(recipe), "--data-dir", str(folder), "--workers", "1")
        env = {"PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "ZOO_TEST_COUNTS": str(counts), **env}
        out, _ = finished(zoo(*args, "--nproc", nproc, "--no-progress", "--out", "run", cwd=cwd, env=env))
        decoded = collections.Counter(counts.read_text().splitlines())
        splits = ("train", "val", "test")
        files = {split: [n for f, n in decoded.items() if f"/{split}/" in f] for split in splits}
        assert [len(files[split]) for split in splits] == [60, 20, 40]  # every image decoded
        by_split = {split: set(files[split]) for split in splits}
        return out.splitlines()[0], by_split, json.loads((cwd / "run" / "report.json").read_text())

    return run


def test_streaming_shards_decode_each_image_once_per_epoch_on_any_process_count(counted) -> None:
    reports = {}
    for nproc in ("1", "2"):
        first, decoded, reports[nproc] = counted(nproc, ZOO_MEMORY_BUDGET="0")  # nothing fits: stream
        assert "streaming" in first
        assert decoded == {"train": {3}, "val": {3}, "test": {1}}  # once an epoch; test once
    assert reports["2"]["world_size"] == 2
    assert reports["1"]["test_accuracy"] == reports["2"]["test_accuracy"]
    assert reports["1"]["best_val_loss"] == pytest.approx(reports["2"]["best_val_loss"], rel=1e-5)


def test_processes_hold_only_their_shard_when_the_whole_split_does_not_fit(counted) -> None:
    # 120 images of 784 bytes do not fit 0.05 MiB; 30 training images a process do
    first, decoded, report = counted("2", ZOO_MEMORY_BUDGET="0.05")
    assert "resident shards (30 training images held by each of 2 processes" in first
    assert decoded == {"train": {1}, "val": {3}, "test": {1}}  # each training image decoded once, ever
    assert report["world_size"] == 2 and report["epochs"] == 3 and report["test_accuracy"] > 0.9


REPORT = """Root Cause (first observed failure):
[0]:
  time      : 2026-12-08_01:00:00
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : 1 (pid: 11)
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -9 (pid: 10)
"""


def test_a_killed_worker_is_named_even_when_torchrun_saw_its_peer_fail_first(tmp_path, capsys) -> None:
    """Which rank torchrun observes failing first is a race: the killed one, or its peer whose
    connection to it closed. The killed worker is the cause either way."""
    from zoo_core.cli.launch import _say_why

    (tmp_path / "1000-1.txt").write_text("unexpected RuntimeError: Connection closed by peer")
    _say_why(tmp_path, REPORT, None)
    assert capsys.readouterr().err.strip() == (
        "Error: worker rank 0 was killed by SIGKILL (--max-restarts N restarts it)"
    )
