"""Quantized ONNX files against fp32, in one run on one machine: size, top-1 accuracy on the
test split (onnxruntime against torch, from the export's accuracy gate) and onnxruntime's
throughput at one batch size, timed like `zoo bench`.

    python bench/quantize.py [--models resnet18_small,fashion_cnn] [--batch 64] [--seconds 2]

The fp32 file's accuracy is torch's: its parity gate holds its logits within 1e-4 of torch's.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from zoo_core import export_model, get_model_spec
from zoo_core.export.bench import time_calls
from zoo_core.runtime.devices import cpu_description
from zoo_plugins.exporters.onnx import open_runtime

PRECISIONS = ("none", "int8", "fp16")


def measure(name: str, folder: Path, *, batch: int, seconds: float) -> list[dict]:
    rows = []
    x = torch.randn(batch, *get_model_spec(name).input_shape, generator=torch.Generator().manual_seed(0))
    for precision in PRECISIONS:
        (report,) = export_model(
            name, ["onnx"], folder, weights="fashion_mnist", options={"quantize": precision}, force=True
        )
        run = open_runtime(Path(report["path"]), threads=torch.get_num_threads(), device="cpu")
        times = time_calls(lambda run=run: run(x), threads=torch.get_num_threads(), min_seconds=seconds)
        accuracy = report.get("quantization", {}).get("accuracy", {})
        rows.append(
            {
                "precision": "fp32" if precision == "none" else precision,
                "mb": report["bytes"] / 1e6,
                "accuracy": accuracy.get("exported_accuracy"),
                "torch": accuracy.get("torch_accuracy"),
                "drop": accuracy.get("drop_points"),
                "agree": accuracy.get("agreement"),
                "images_per_s": batch / sorted(times)[len(times) // 2],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18_small,fashion_cnn")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(
        f"machine: {cpu_description()}; onnxruntime on {torch.get_num_threads()} threads, batch {args.batch}"
    )
    print(
        f"{'model':<16} {'precision':<9} {'MB':>6} {'top-1':>7} {'torch':>7} {'drop pts':>8} "
        f"{'agree':>7} {'images/s':>9} {'x fp32':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models.split(","):
            rows = measure(name, Path(folder), batch=args.batch, seconds=args.seconds)
            fp32 = rows[0]["images_per_s"]
            torch_accuracy = next(r["torch"] for r in rows if r["torch"] is not None)
            for r in rows:
                top1 = r["accuracy"] if r["accuracy"] is not None else torch_accuracy
                print(
                    f"{name:<16} {r['precision']:<9} {r['mb']:>6.2f} {top1:>7.4f} {torch_accuracy:>7.4f} "
                    f"{r['drop'] or 0:>8.2f} {(r['agree'] or 1) * 100:>6.2f}% {r['images_per_s']:>9,.0f} "
                    f"{r['images_per_s'] / fp32:>7.2f}"
                )


if __name__ == "__main__":
    main()
