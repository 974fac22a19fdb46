"""Whole-process time of `zoo export resnet18 --onnx` against timm's ONNX export of its resnet18
with timm's forward check, each in a fresh process, as a user runs them.

    python bench/export_speed.py [--repeat 3]

zoo's run includes importing torch, building the model, the dynamo export, onnx.checker and the
parity gate against onnxruntime at batch sizes 1, 3 and 8. timm's run uses
timm.utils.onnx.onnx_export(check_forward=True), which compares one batch. Needs timm
(`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMM = (
    "import timm, torch; from timm.utils.onnx import onnx_export; "
    "m = timm.create_model('resnet18', pretrained=False).eval(); "
    "onnx_export(m, {out!r}, example_input=torch.randn(1, 3, 224, 224), check_forward=True, "
    "dynamic_size=False)"
)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = {"zoo export resnet18 --onnx": [], "timm onnx_export(check_forward)": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            rows["zoo export resnet18 --onnx"].append(
                timed([sys.executable, "-m", "zoo_core", "export", "resnet18", "--onnx", "--out", folder])
            )
            out = str(Path(folder) / "timm_resnet18.onnx")
            rows["timm onnx_export(check_forward)"].append(
                timed([sys.executable, "-c", TIMM.format(out=out)])
            )
    zoo_time = statistics.median(rows["zoo export resnet18 --onnx"])
    print(f"{'process':<34} {'median s':>9} {'best s':>7} {'x timm':>7}")
    timm_time = statistics.median(rows["timm onnx_export(check_forward)"])
    for label, times in rows.items():
        print(
            f"{label:<34} {statistics.median(times):>9.2f} {min(times):>7.2f} "
            f"{statistics.median(times) / timm_time:>7.2f}"
        )
    print(f"ratio zoo / timm: {zoo_time / timm_time:.2f}")


if __name__ == "__main__":
    main()
