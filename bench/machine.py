"""The machine a benchmark ran on, in one line: CPU model, cores and the vector flags that decide
its speed (or the GPU's name), printed beside every figure."""

from __future__ import annotations

import os
import platform
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def describe() -> str:
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    shown = ", ".join(f for f in FLAGS if f in flags) or "none of " + "/".join(FLAGS)
    return f"{model}, {os.cpu_count()} cores, flags: {shown}"
