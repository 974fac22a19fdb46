"""The lesson's training loop against the zoo trainer: same network, batch size and steps.

    python bench/train_speed.py [--device cpu|cuda] [--steps N] [--workers 4]

The lesson's loop is its own code: torchvision's FashionMNIST with ToTensor + Normalize through a
DataLoader (4 workers, pinned memory), ``.item()`` after every step. The zoo trainer holds the
data on the device as uint8 and makes batches there. Each loop trains ``--steps`` steps (default:
one epoch of the lesson's 48,000 training images at batch 256) and then evaluates the 12,000
validation images. The zoo trainer runs as the ``zoo`` command runs it (freed memory kept for
reuse, ``zoo_core.runtime.allocator``), in its default precision (bf16 autocast on CUDA and on CPUs with
AVX512-BF16) and, where that is bf16, once more in fp32, the lesson's precision. Prints one
table, with the machine: seconds, training images/s, and the ratio of epoch times.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zoo_core import get_recipe, user_cache_dir
from zoo_core.runtime.allocator import keep_freed_memory
from zoo_core.runtime.devices import cpu_description, flush_denormal, native_bf16, resolve_device
from zoo_core.runtime.distributed import Process
from zoo_core.training import Settings, TrainingEpoch, TrainingSession
from zoo_plugins.datasets import fashion_mnist
from zoo_plugins.training.default import train_epoch


class LessonCNN(nn.Module):
    """The lesson's FashionCNN, verbatim."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


def lesson_loop(root: Path, device: torch.device, steps: int, workers: int) -> tuple[float, int]:
    """The lesson's data pipeline and loop; returns (seconds, training images)."""
    import torchvision
    from torch.utils.data import DataLoader, random_split
    from torchvision.transforms import Compose, Normalize, ToTensor

    trans = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    total = torchvision.datasets.FashionMNIST(root=str(root), train=True, transform=trans, download=False)
    train_set, val_set = random_split(total, [48_000, 12_000], generator=torch.Generator().manual_seed(0))
    loader = DataLoader(train_set, batch_size=256, shuffle=True, num_workers=workers, pin_memory=True)
    val_loader = DataLoader(val_set, batch_size=256, shuffle=False, num_workers=workers, pin_memory=True)
    model = LessonCNN()
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(m.bias, 0)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    start, seen, train_loss, train_acc = time.perf_counter(), 0, 0.0, 0
    model.train()
    while seen < steps * 256:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            y_hat = model(x)
            loss = criterion(y_hat, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(x)
            train_loss += loss.item() * len(x)
            train_acc += (torch.argmax(y_hat, axis=1) == y).sum().item()
            if seen >= steps * 256:
                break
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            criterion(model(x), y).item()
    return time.perf_counter() - start, seen


def zoo_loop(device: torch.device, steps: int, amp: bool) -> tuple[float, int]:
    """The zoo trainer on the same network and recipe; returns (seconds, training images)."""
    recipe = get_recipe("fashion_cnn", "lesson")
    settings = Settings(device=str(device), amp=amp, max_steps=steps)
    session = TrainingSession("fashion_cnn", recipe, settings, Process())
    epoch = TrainingEpoch(session)
    with flush_denormal(device):
        start = time.perf_counter()
        train_epoch(session, epoch)
        session.evaluate(session.val_split)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, int(epoch.seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=188, help="training steps per loop (188: one epoch)")
    parser.add_argument("--workers", type=int, default=4, help="the lesson's DataLoader workers")
    args = parser.parse_args()
    device = resolve_device(args.device)
    fashion_mnist.load()  # makes sure the raw files are where torchvision looks
    root = user_cache_dir()
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{cpu_description()}; {torch.get_num_threads()} threads"
    )
    rows = [("lesson DataLoader loop", *lesson_loop(root, device, args.steps, args.workers))]
    keep_freed_memory()  # as the zoo command does; the lesson's loop ran with malloc's defaults
    for amp in dict.fromkeys((native_bf16(device), False)):  # the default, then fp32 if that differs
        zoo_loop(device, 3, amp)  # warm-up: first kernels, allocator, cuDNN choice
        rows.append(
            (f"zoo trainer, {'bf16 autocast' if amp else 'fp32'}", *zoo_loop(device, args.steps, amp))
        )
    base = rows[0][1]
    print(f"fashion_cnn, batch 256, {args.steps} training steps + 12,000 validation images on {name}")
    print(f"{'loop':<28} {'seconds':>8} {'train img/s':>12} {'x lesson time':>14}")
    for label, seconds, images in rows:
        print(f"{label:<28} {seconds:>8.2f} {images / seconds:>12,.0f} {seconds / base:>14.2f}")


if __name__ == "__main__":
    main()
