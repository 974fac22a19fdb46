"""How fast the data paths serve images, and what a whole `zoo` process costs around its work.

    python bench/data_speed.py [--images 60000] [--workers 2] [--steps 100] [--repeat 3] [--folder PATH]

1. Writes a 28x28 image folder of ``--images`` Fashion-MNIST training PNGs (10 class folders),
   or uses ``--folder``.
2. Decodes it with a plain PIL loop (open, load, to an array), then builds the decoded cache cold
   (the zoo's resident path, ``--workers`` decoding workers); images/s of both.
3. Trains fashion_cnn's lesson recipe for ``--steps`` steps on the resident path and on the
   streaming path (``--workers`` workers): training images/s of both.
4. Runs ``zoo eval fashion_cnn --weights fashion_mnist`` and ``zoo train fashion_cnn --epochs 1``
   as whole processes: wall time against the work they report.

Every figure is printed with the machine it was measured on.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from zoo_core import get_recipe, user_cache_dir
from zoo_core.data.samples import decode, resident
from zoo_core.runtime.allocator import keep_freed_memory
from zoo_core.runtime.devices import cpu_description as describe
from zoo_core.runtime.distributed import Process
from zoo_core.store.paths import decoded_cache
from zoo_core.training import Settings, TrainingEpoch, TrainingSession
from zoo_plugins.datasets import fashion_mnist, image_folder
from zoo_plugins.training.default import train_epoch


def write_folder(root: Path, count: int) -> None:
    data = fashion_mnist.load(download=False)
    for label in range(10):
        (root / f"class{label}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        label = int(data.train_labels[i])
        Image.fromarray(data.train_images[i, 0].numpy(), "L").save(root / f"class{label}" / f"{i}.png")


def pil_loop(samples: image_folder.FolderSamples) -> float:
    """Seconds to decode every file with PIL alone, one process."""

    def decode_all() -> None:
        for path in samples.files:
            with Image.open(path) as image:
                np.asarray(image)

    return timed(decode_all)


def train_speed(folder: Path, cache: bool, steps: int, workers: int) -> float:
    """Training images/s of fashion_cnn's lesson recipe on the folder, over ``steps`` steps."""
    recipe = get_recipe("fashion_cnn", "lesson", dataset="image_folder")
    settings = Settings(
        device="cpu", data_dir=str(folder), data_cache=cache, workers=workers, max_steps=steps
    )
    session = TrainingSession("fashion_cnn", recipe, settings, Process())
    epoch = TrainingEpoch(session)
    seconds = timed(lambda: train_epoch(session, epoch))
    return float(epoch.seen) / seconds


def whole_process(*args: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "zoo_core", *args]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def median_of(repeat: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeat))


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="medians of this many runs")
    parser.add_argument("--folder", type=Path, help="an existing 28x28 image folder to use")
    args = parser.parse_args()
    keep_freed_memory()  # the in-process training below runs as the zoo command runs it
    scratch = Path(tempfile.mkdtemp(prefix="zoo-data-speed-"))
    os.environ["ZOO_HOME"] = str(scratch / "home")  # cold caches: nothing scanned or decoded yet
    folder = args.folder or scratch / "images"
    if args.folder is None:
        write_folder(folder, args.images)

    def scan_cold() -> float:
        shutil.rmtree(user_cache_dir() / "folders", ignore_errors=True)
        return timed(lambda: image_folder.load(data_dir=folder))

    scan = median_of(args.repeat, scan_cold)
    warm_scan = median_of(args.repeat, lambda: timed(lambda: image_folder.load(data_dir=folder)))
    samples = image_folder.load(data_dir=folder).train
    n = len(samples)
    decode_args = {"channels": 1, "size": (28, 28), "interpolation": "bilinear", "workers": args.workers}

    def build_cold() -> float:
        shutil.rmtree(decoded_cache(), ignore_errors=True)
        return timed(lambda: resident(samples, **decode_args))

    pil = median_of(args.repeat, lambda: pil_loop(samples))
    build = median_of(args.repeat, build_cold)
    mapped = median_of(args.repeat, lambda: timed(lambda: resident(samples, **decode_args)))
    one = samples[0][0]
    convert = timed(
        lambda: [decode(one, channels=1, size=(28, 28), interpolation="bilinear") for _ in range(1000)]
    )

    train_speed(folder, True, 3, args.workers)  # warm-up: first kernels, allocator
    resident_speed = median_of(args.repeat, lambda: train_speed(folder, True, args.steps, args.workers))
    streaming_speed = median_of(args.repeat, lambda: train_speed(folder, False, args.steps, args.workers))

    fashion_read = median_of(args.repeat, lambda: timed(lambda: fashion_mnist.load(download=False)))
    eval_wall = median_of(
        args.repeat, lambda: whole_process("eval", "fashion_cnn", "--weights", "fashion_mnist")[0]
    )
    train_wall, printed = whole_process(
        *("train", "fashion_cnn", "--epochs", "1", "--no-progress", "--out", str(scratch / "run"))
    )
    epoch = float(re.search(r"epoch +1/1 .* ([0-9.]+)s", printed).group(1))

    print(f"machine: {describe()}; torch threads {torch.get_num_threads()}; medians of {args.repeat}")
    print(f"{n:,} 28x28 PNGs in {folder}")
    rows = [
        ("folder scan, cold (opens every header)", f"{scan:.2f} s", f"{n / scan:,.0f} files/s"),
        ("folder scan, warm (lists and stats)", f"{warm_scan:.2f} s", f"{n / warm_scan:,.0f} files/s"),
        ("plain PIL decode loop, 1 process", f"{pil:.2f} s", f"{n / pil:,.0f} img/s"),
        ("zoo convert+resize per image", f"{convert * 1e3:.1f} us", ""),
        (f"decoded cache, cold build ({args.workers} workers)", f"{build:.2f} s", f"{n / build:,.0f} img/s"),
        ("  x the PIL loop", f"{pil / build:.2f}x", ""),
        ("decoded cache, warm map", f"{mapped:.3f} s", ""),
        (f"training, resident ({args.steps} steps)", "", f"{resident_speed:,.0f} img/s"),
        (f"training, streaming ({args.workers} workers)", "", f"{streaming_speed:,.0f} img/s"),
        ("  streaming x resident", f"{streaming_speed / resident_speed:.2f}x", ""),
        ("Fashion-MNIST read (idx files mapped)", f"{fashion_read:.3f} s", ""),
        ("zoo eval fashion_cnn --weights fashion_mnist", f"{eval_wall:.2f} s", "whole process"),
        ("zoo train fashion_cnn --epochs 1", f"{train_wall:.2f} s", f"epoch printed {epoch:.1f} s"),
        ("  process x epoch", f"{train_wall / epoch:.2f}x", ""),
    ]
    for label, value, rate in rows:
        print(f"{label:<46} {value:>10} {rate:>22}")


if __name__ == "__main__":
    main()
