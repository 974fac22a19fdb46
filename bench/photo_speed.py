"""Training images/s on 224-pixel photos: the zoo's data path against torchvision's.

    python bench/photo_speed.py [--images 512] [--batch-size 32] [--steps 8] [--workers 2] [--model resnet18]

1. Writes a folder of ``--images`` JPEGs (two classes, 240-420 pixels a side, mixed aspect).
2. torchvision: ``ImageFolder`` + ``DataLoader`` (``--workers`` workers) with
   ``RandomResizedCrop(224)``, ``RandomHorizontalFlip``, ``ToImage``, ``ToDtype``, ``Normalize``
   (transforms.v2), and a plain SGD step on the zoo's ``--model`` (the same network object).
3. The zoo: ``zoo train``'s own session and loop (the decoded cache, then the registered
   ``random_resized_crop`` and ``flip`` augmentations) with the same model, optimizer and batch.
Both are timed over ``--steps`` steps from their first batch, in one process whose kernels a
warm-up step has chosen; the zoo's decoded cache is built first (as for every run after a
folder's first), and that decode is reported on its own line. The ratio is the issue-27 target (>= 1.0x).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from zoo_core import create_model, get_recipe
from zoo_core.runtime.devices import cpu_description as describe
from zoo_core.runtime.distributed import Process
from zoo_core.training import Settings, TrainingEpoch, TrainingSession
from zoo_plugins.training.default import train_epoch

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def write_photos(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / f"class{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in rng.integers(240, 420, 2))
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=90)


def torchvision_speed(folder: Path, model: nn.Module, batch: int, steps: int, workers: int) -> float:
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    transform = v2.Compose(
        [
            v2.RandomResizedCrop(224, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    loader = torch.utils.data.DataLoader(
        ImageFolder(str(folder), transform=transform),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    seen, start, batches = 0, time.perf_counter(), iter(loader)  # as the zoo's: from the first batch
    for _ in range(steps):
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        x = x.contiguous(memory_format=torch.channels_last)  # as the zoo serves its batches
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(x)
    return seen / (time.perf_counter() - start)


def zoo_session(model_name: str, folder: Path, batch: int, steps: int, workers: int) -> TrainingSession:
    recipe = get_recipe(
        model_name,
        dataset="image_folder",
        input_size=(224, 224),
        batch_size=batch,
        optimizer="sgd",
        lr=0.01,
        augment=("random_resized_crop", "flip"),
    )
    settings = Settings(device="cpu", data_dir=str(folder), workers=workers, max_steps=steps, amp=False)
    return TrainingSession(model_name, recipe, settings, Process())


def zoo_speed(model_name: str, folder: Path, batch: int, steps: int, workers: int) -> float:
    """Images/s of ``steps`` steps of a fresh session (the process's kernels already warm)."""
    warm = zoo_session(model_name, folder, batch, 1, workers)
    train_epoch(warm, TrainingEpoch(warm))
    session = zoo_session(model_name, folder, batch, steps, workers)
    epoch = TrainingEpoch(session)
    start = time.perf_counter()
    train_epoch(session, epoch)
    return float(epoch.seen) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="resnet18")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*running statistics will not settle")  # a timing run
    scratch = Path(tempfile.mkdtemp(prefix="zoo-photo-speed-"))
    os.environ["ZOO_HOME"] = str(scratch / "home")  # a cold decoded cache
    folder = scratch / "photos"
    write_photos(folder, args.images)

    start = time.perf_counter()
    zoo_session(args.model, folder, args.batch_size, 1, args.workers)
    decode_seconds = time.perf_counter() - start
    zoo = zoo_speed(args.model, folder, args.batch_size, args.steps, args.workers)
    model = create_model(args.model, num_classes=2).to(memory_format=torch.channels_last)
    vision = torchvision_speed(folder, model, args.batch_size, args.steps, args.workers)

    print(f"machine: {describe()}; torch threads {torch.get_num_threads()}; fp32")
    print(
        f"{args.images} JPEGs (240-420 px), {args.model} at 224, batch {args.batch_size}, {args.steps} steps"
    )
    rows = [
        ("zoo: first run's folder scan + decode to cache", f"{decode_seconds:.1f} s"),
        ("zoo train path (random_resized_crop, flip)", f"{zoo:.1f} img/s"),
        (f"torchvision ImageFolder + DataLoader ({args.workers} workers)", f"{vision:.1f} img/s"),
        ("zoo x torchvision", f"{zoo / vision:.2f}x"),
    ]
    for label, value in rows:
        print(f"{label:<58} {value:>12}")


if __name__ == "__main__":
    main()
