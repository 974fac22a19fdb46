"""Does a fine-tune pay? `zoo train MODEL --data F --weights fashion_mnist` against the same
command from scratch, and against a plain hand-written loop, on a folder the weights never saw.

    python bench/fine_tune.py [--models fashion_cnn resnet18_small] [--per-class 500 100 300]

1. Builds the issue-27 folder (tests/helpers.py ``regrouped_fashion_folder``): Fashion-MNIST's
   ten classes regrouped into four, every image turned a quarter turn, PNGs, train/val/test
   images a class as ``--per-class`` says (training images from its training split, the rest
   from its test split).
2. For each model, as whole processes: ``--weights fashion_mnist`` with no other flag (the
   fine-tune recipe), and the same command without ``--weights`` at the same number of epochs
   (``--epochs 10``: the default recipe's 80-150 epochs are not a like-for-like budget).
3. A 20-line loop: the same weights, a fresh head, Adam 1e-3, 200 steps of 64, no augmentation.
Single-pass test accuracy and the process's wall time, with the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the folder builder lives with the tests

from tests.helpers import regrouped_fashion_folder  # noqa: E402
from zoo_core import create_model  # noqa: E402
from zoo_core.runtime.devices import cpu_description as describe  # noqa: E402


def zoo_train(model: str, folder: Path, out: Path, *extra: str) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "zoo_core", "train", model, "--data", str(folder), "--no-progress", "--json",
         "--out", str(out), *extra],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout), time.perf_counter() - start


def read_split(folder: Path, mean: float, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for label, name in enumerate(sorted(p.name for p in folder.iterdir())):
        for file in sorted((folder / name).iterdir()):
            images.append(np.asarray(Image.open(file), dtype=np.float32))
            labels.append(label)
    pixels = torch.tensor(np.stack(images))[:, None] / 255
    return (pixels - mean) / std, torch.tensor(labels)


def hand_loop(model_name: str, folder: Path) -> tuple[float, float]:
    start = time.perf_counter()
    torch.manual_seed(0)
    model = create_model(model_name, weights="fashion_mnist", num_classes=4)
    mean, std = model.zoo_weights.mean[0], model.zoo_weights.std[0]
    x, y = read_split(folder / "train", mean, std)
    test_x, test_y = read_split(folder / "test", mean, std)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()
    for _ in range(200):
        pick = torch.randint(len(x), (64,))
        loss = F.cross_entropy(model(x[pick]), y[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = torch.cat([model(b).argmax(1) for b in test_x.split(256)]).eq(test_y).float().mean()
    return float(accuracy), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fashion_cnn", "resnet18_small"])
    parser.add_argument(
        "--per-class", nargs=3, type=int, default=[500, 100, 300], metavar=("TRAIN", "VAL", "TEST")
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zoo-fine-tune-"))
    train, val, test = args.per_class
    folder = regrouped_fashion_folder(scratch / "images", train=train, val=val, test=test)
    print(f"machine: {describe()}; torch threads {torch.get_num_threads()}")
    print(f"folder: 4 classes, {train}/{val}/{test} images a class (train/val/test), quarter-turned")
    print(f"{'model':<16} {'run':<36} {'test acc':>9} {'best ep':>8} {'wall s':>8}")
    for model in args.models:
        tuned, tuned_s = zoo_train(model, folder, scratch / f"{model}-tuned", "--weights", "fashion_mnist")
        fresh, fresh_s = zoo_train(model, folder, scratch / f"{model}-scratch", "--epochs", "10")
        loop, loop_s = hand_loop(model, folder)
        for name, report, seconds in (
            ("zoo train --weights fashion_mnist", tuned, tuned_s),
            ("zoo train --epochs 10 (scratch)", fresh, fresh_s),
        ):
            accuracy, best = report["test_accuracy"], report["best_epoch"]
            print(f"{model:<16} {name:<36} {accuracy:>9.4f} {best:>8} {seconds:>8.1f}")
        print(f"{model:<16} {'hand loop: Adam, 200 steps, no aug':<36} {loop:>9.4f} {'-':>8} {loop_s:>8.1f}")
        gain = 100 * (tuned["test_accuracy"] - fresh["test_accuracy"])
        print(f"{model:<16} {'fine-tune - scratch':<36} {gain:>+8.2f}p")


if __name__ == "__main__":
    main()
