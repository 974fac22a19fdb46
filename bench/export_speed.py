"""Whole-process time of `zoo export resnet18 --onnx` against a bare script doing the same
export with torch's own API, and against timm's ONNX export, each in a fresh process, as a user
runs them, in one run on one machine.

    python bench/export_speed.py [--repeat 3]

zoo's run includes importing torch and the CLI, loading the plugins, building the model, the
dynamo export, onnx.checker and the parity gate against onnxruntime at batch sizes 1, 3 and 8.
The bare script builds the same network (the plugin's builder, imported directly), calls
`torch.onnx.export(dynamo=True)` with a dynamic batch, saves the file and runs it once in
onnxruntime: the least a careful user would do. timm's run uses
timm.utils.onnx.onnx_export(check_forward=True) on timm's resnet18, which compares one batch; it
is shown when timm is installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoo_core.runtime.devices import cpu_description

BARE = (
    "import torch, onnxruntime as ort; from zoo_plugins.architectures.resnet.nets import resnet18; "
    "m = resnet18().eval(); x = torch.randn(2, 3, 224, 224); "
    "p = torch.onnx.export(m, (x,), dynamo=True, dynamic_shapes=({{0: torch.export.Dim('batch')}},), "
    "input_names=['input'], output_names=['logits']); p.save({out!r}); "
    "s = ort.InferenceSession({out!r}, providers=['CPUExecutionProvider']); "
    "s.run(None, {{'input': x.numpy()}})"
)
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
    zoo, bare, timm = "zoo export resnet18 --onnx", "bare torch.onnx.export + ort run", "timm onnx_export"
    rows: dict[str, list[float]] = {zoo: [], bare: []}
    if importlib.util.find_spec("timm") is not None:
        rows[timm] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):  # interleaved, so that a busy moment hits every row alike
            rows[zoo].append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "zoo_core",
                        "export",
                        "resnet18",
                        "--onnx",
                        "--out",
                        folder,
                        "--force",
                    ]
                )
            )
            rows[bare].append(timed([sys.executable, "-c", BARE.format(out=str(Path(folder) / "bare.onnx"))]))
            if timm in rows:
                rows[timm].append(
                    timed([sys.executable, "-c", TIMM.format(out=str(Path(folder) / "timm.onnx"))])
                )
    print(f"machine: {cpu_description()}; medians of {args.repeat} fresh processes")
    reference = statistics.median(rows[bare])
    print(f"{'process':<34} {'median s':>9} {'best s':>7} {'x bare':>7}")
    for label, times in rows.items():
        print(
            f"{label:<34} {statistics.median(times):>9.2f} {min(times):>7.2f} "
            f"{statistics.median(times) / reference:>7.2f}"
        )


if __name__ == "__main__":
    main()
