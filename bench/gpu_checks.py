"""Every GPU check and benchmark in one process, for a short lease of a GPU machine.

    python bench/gpu_checks.py --runs /tmp/runs --out OUT [--quick]

1. bench/train_speed.py's table: the lesson's DataLoader loop against the zoo trainer.
2. Time to accuracy: `zoo train` runs (bf16 autocast, channels_last, data on the GPU) of
   fashion_cnn and resnet18_small, and the weight-training runs of the small models.
3. `zoo bench` of resnet18 and fashion_cnn on the GPU.

OUT receives what should come back from the machine, within its limits (at most 8 files of 16
MiB): results.tgz with every run's report, metrics, curves and small weights, and the best
resnet18_small weights split into parts (join them with `cat`). --quick trains one epoch on
2,000 images, to try the script on a CPU first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zoo_core import get_recipe
from zoo_core.export.bench import benchmark
from zoo_core.training import Settings, train

# (label, model, recipe name or None for the default, overrides). The default recipes' runs are
# the ones whose weights ship; "fast" ones are the time-to-accuracy measurements.
RUNS = [
    ("fashion_cnn-fast", "fashion_cnn", "fast", {}),
    ("fashion_cnn-augmented", "fashion_cnn", None, {}),
    ("lenet5-flip", "lenet5", None, {}),
    ("lenet5_bn-lesson", "lenet5_bn", "lesson", {}),
    ("resnet18_small-fast", "resnet18_small", "fast", {}),
    ("resnet18_small-erase", "resnet18_small", None, {}),
]
PART = 15 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-bench", action="store_true", help="training runs only")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"device: {name}, torch {torch.__version__}", flush=True)

    if not args.skip_bench:
        import train_speed

        sys.argv = ["train_speed", "--device", device, *(["--steps", "5"] if args.quick else [])]
        train_speed.main()

    rows = []
    for label, model, recipe_name, overrides in RUNS:
        if args.quick:
            overrides = {**overrides, "epochs": 1}
        recipe = get_recipe(model, recipe_name, **overrides)
        settings = Settings(device=device, subset=2000 if args.quick else None)
        start = time.perf_counter()
        report = train(model, recipe, settings, out=args.runs / label, progress=False)
        rows.append((label, report, time.perf_counter() - start))
    print(f"\ntime to accuracy on {name} (wall: the whole fit, validation and checkpoints included)")
    print(f"{'run':<32} {'epochs':>6} {'train s':>8} {'wall s':>7} {'val acc':>8} {'test acc':>9}")
    for label, r, _ in rows:
        print(
            f"{label:<32} {r['epochs']:>6} {r['train_seconds']:>8.1f} {r['wall_seconds']:>7.1f} "
            f"{r['best_val_accuracy']:>8.4f} {r['test_accuracy']:>9.4f}"
        )

    for model in () if args.skip_bench else ("fashion_cnn", "resnet18"):
        result = benchmark(
            model, batch_sizes=[1, 64] if not args.quick else [1], device=device, min_seconds=0.3
        )
        print(json.dumps(result), flush=True)

    pack(args.runs, args.out, rows)


def pack(runs: Path, out: Path, rows: list) -> None:
    """Small files into results.tgz; the best resnet18_small weights (by validation accuracy) in parts."""
    resnets = [(r["best_val_accuracy"], label) for label, r, _ in rows if label.startswith("resnet18_small")]
    best_resnet = max(resnets)[1]
    with tarfile.open(out / "results.tgz", "w:gz") as tar:
        for run in sorted(runs.iterdir()):
            for name in ("report.json", "metrics.jsonl", "curves.png", "recipe.json", "run.json"):
                tar.add(run / name, arcname=f"{run.name}/{name}")
            if not run.name.startswith("resnet18_small"):
                tar.add(run / "best.safetensors", arcname=f"{run.name}/best.safetensors")
    data = (runs / best_resnet / "best.safetensors").read_bytes()
    for i in range(0, len(data), PART):
        (out / f"{best_resnet}.best.safetensors.part{i // PART}").write_bytes(data[i : i + PART])
    shutil.rmtree(runs)


if __name__ == "__main__":
    main()
