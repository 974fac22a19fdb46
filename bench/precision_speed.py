"""What bf16 autocast buys over fp32, per model, on this machine's CPU or GPU: the evidence behind
the trainer's default precision (``zoo_core.runtime.devices.native_bf16``).

    python bench/precision_speed.py [--device cpu|cuda] [--models lenet5:256,resnet18:16:96,...] [--steps 10]

For each model: milliseconds per training step (forward, backward, AdamW step; channels_last,
random data at the model's input size or the given side) and per evaluation batch, in fp32 and
in bf16 autocast, the best of two alternating rounds each, and the speed-up. Prints one table,
with the machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F

from zoo_core import create_model, get_model_spec
from zoo_core.runtime.allocator import keep_freed_memory
from zoo_core.runtime.devices import autocast, cpu_description, native_bf16, resolve_device, sync_time

# name:batch[:side]: the 28x28 networks at their recipes' batch sizes, ResNet-18 on 96x96 images.
DEFAULT_MODELS = "lenet5:256,lenet5_bn:256,fashion_cnn:256,resnet18_small:128,resnet18:16:96"


def per_call_ms(work: Callable[[], object], device: torch.device, steps: int) -> float:
    for _ in range(3):  # warm-up: first kernels, allocator
        work()
    start = sync_time(device)
    for _ in range(steps):
        work()
    return (sync_time(device) - start) / steps * 1e3


def measure(
    name: str, batch: int, side: int | None, device: torch.device, steps: int
) -> dict[tuple[str, bool], float]:
    """Best-of-two ms per training step and per evaluation batch, fp32 and bf16."""
    spec = get_model_spec(name)
    size = (side, side) if side else spec.input_size
    model = create_model(name, num_classes=10).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, spec.in_channels, *size, device=device).contiguous(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, 10, (batch,), device=device)

    def train_step(amp: bool) -> None:
        with autocast(device, amp):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def eval_batch(amp: bool) -> None:
        with torch.inference_mode(), autocast(device, amp):
            model(x)

    times: dict[tuple[str, bool], float] = {}
    for phase, work in (("train", train_step), ("eval", eval_batch)):
        model.train(phase == "train")
        for amp in (False, True, False, True):
            ms = per_call_ms(lambda work=work, amp=amp: work(amp), device, steps)
            times[phase, amp] = min(ms, times.get((phase, amp), float("inf")))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--models", default=DEFAULT_MODELS, help="name:batch[:side],... (default: %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed calls per measurement")
    args = parser.parse_args()
    keep_freed_memory()  # as the zoo command runs
    device = resolve_device(args.device)
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_description()
    print(f"{machine}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"default precision here: {'bf16 autocast' if native_bf16(device) else 'fp32'}")
    header = f"{'model':<15} {'batch':>5} {'train fp32':>11} {'train bf16':>11} {'x':>5}"
    print(f"{header} {'eval fp32':>10} {'eval bf16':>10} {'x':>5}   (ms per step / batch)")
    for item in args.models.split(","):
        name, batch, *side = item.split(":")
        t = measure(name, int(batch), int(side[0]) if side else None, device, args.steps)
        train, evaluate = t["train", False] / t["train", True], t["eval", False] / t["eval", True]
        print(
            f"{name:<15} {batch:>5} {t['train', False]:>11.1f} {t['train', True]:>11.1f} {train:>5.2f} "
            f"{t['eval', False]:>10.1f} {t['eval', True]:>10.1f} {evaluate:>5.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
