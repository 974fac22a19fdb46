"""What weight EMA and knowledge distillation buy: one short recipe trained as it is, with the
``ema`` averager, and with the ``distill`` trainer, over several seeds.

    python bench/train_parts.py [--model fashion_cnn] [--recipe lesson] [--epochs 10]
        [--seeds 0,1,2] [--teacher resnet18_small:fashion_mnist] [--out runs/train-parts] [--subset N]

Each run is ``zoo train MODEL --recipe RECIPE --epochs N --seed S`` (plus ``--averager ema`` or
``--teacher T``), in process; the table gives each run's single-pass test accuracy (what
``model(x)`` gives, of the weights with the best validation loss), the mean and spread over the
seeds, the gain over the plain recipe, the seconds per epoch and the seconds the teacher's
logits took (once per run), with the machine it ran on.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from zoo_core import get_recipe
from zoo_core.runtime.allocator import keep_freed_memory
from zoo_core.runtime.devices import cpu_description
from zoo_core.training import Settings, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion_cnn")
    parser.add_argument("--recipe", default="lesson")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--teacher", default="resnet18_small:fashion_mnist")
    parser.add_argument("--out", type=Path, default=Path("runs/train-parts"))
    parser.add_argument("--subset", type=int, help="smoke runs: the first N training images")
    args = parser.parse_args()
    keep_freed_memory()  # the runs below are in process: as the zoo command runs them
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = {
        "plain": {},
        "ema": {"averager": "ema"},
        "distill": {"trainer": "distill", "options": {"distill_teacher": args.teacher}},
    }
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for seed in seeds:
        for name, changes in variants.items():
            recipe = get_recipe(args.model, args.recipe, epochs=args.epochs, seed=seed, **changes)
            report = train(
                args.model,
                recipe,
                Settings(device="cpu", subset=args.subset),
                out=args.out / f"{name}-{seed}",
                progress=False,
            )
            results[name].append(report)
            print(f"seed {seed} {name:<8} test {report['test_accuracy']:.4f}", flush=True)
    base = statistics.mean(r["test_accuracy"] for r in results["plain"])
    print(
        f"\n{args.model}, recipe {args.recipe!r}, {args.epochs} epochs, seeds {args.seeds}; "
        f"teacher {args.teacher}; torch {torch.__version__} on {cpu_description()}"
    )
    header = f"{'variant':<9} {'test accuracy per seed':<26} {'mean':>7} {'stdev':>7} {'gain':>7}"
    print(f"{header} {'s/epoch':>8} {'teacher s':>10} teacher logits")
    for name, reports in results.items():
        accuracies = [r["test_accuracy"] for r in reports]
        mean = statistics.mean(accuracies)
        spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        per_seed = " ".join(f"{a:.4f}" for a in accuracies)
        seconds = statistics.mean(r["train_seconds"] / r["epochs"] for r in reports)
        teacher = statistics.mean(r.get("teacher_cache_seconds", 0.0) for r in reports)
        sources = ", ".join(sorted({r["teacher_logits"] for r in reports if "teacher_logits" in r}))
        row = f"{name:<9} {per_seed:<26} {mean:>7.4f} {spread:>7.4f} {mean - base:>+7.4f}"
        print(f"{row} {seconds:>8.1f} {teacher:>10.1f} {sources}")


if __name__ == "__main__":
    main()
