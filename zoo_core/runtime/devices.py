"""Device policy: which device a command runs on, in which precision, and how it is timed and
named in reports."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from ..base.errors import ZooError


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ZooError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ZooError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ZooError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively, which makes bf16 autocast the trainer's
    default there: CUDA, and CPUs with AVX512-BF16 (AMX ones have it too), where a training step
    of the lesson's CNN or a ResNet takes 1.5-1.9x less time than in fp32 at the same accuracy
    (``bench/precision_speed.py``). Other CPUs emulate bf16, several times slower."""
    if device.type == "cuda":
        return True
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # private: looked up, not assumed
    return bool(probe and probe())


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` when enabled."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@contextlib.contextmanager
def flush_denormal(device: torch.device) -> Iterator[None]:
    """On the CPU, denormal floats are flushed to zero while training (they slow x86 math)."""
    if device.type != "cpu":
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def eval_batch_size(device: torch.device) -> int:
    """Images per evaluation batch: small enough to stay in a CPU's caches (256 runs the lesson's
    networks about twice as fast as 1024 on the 2-core CPUs here), large for a GPU."""
    return 1024 if device.type == "cuda" else 256


def sync_time(device: torch.device) -> float:
    """``time.perf_counter()`` once the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's thread count and architecture, as reports print them."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"


CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_description() -> str:
    """The CPU in one line: its model, cores and the vector flags that decide its speed, as
    every benchmark figure names it."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    shown = ", ".join(f for f in CPU_FLAGS if f in flags) or "none of " + "/".join(CPU_FLAGS)
    return f"{model}, {os.cpu_count()} cores, flags: {shown}"
