"""Add trained weights to ``weights/``: copy a run's best weights, measure them with `zoo eval`
on the CPU, record a manifest entry, and regenerate the model cards.

    python tools/ship_weights.py RUN_DIR --model fashion_cnn --tag fashion_mnist
    python tools/ship_weights.py --cards          # only regenerate weights/README.md

RUN_DIR is a `zoo train` run folder (its best.safetensors and report.json are used); a
.safetensors file may be given instead, with --trained-on saying where it was trained.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date
from pathlib import Path

import torch

from zoo_core import Recipe, get_model_spec
from zoo_core.atomic import atomic_path, write_bytes
from zoo_core.evaluation import evaluate_weights
from zoo_core.manifest import WeightsSpec, read_manifest, render_cards, write_manifest
from zoo_core.weights import file_sha256, model_from_weights

FOLDER = Path(__file__).resolve().parent.parent / "weights"


def ship(source: Path, model: str, tag: str, trained_on: str | None) -> WeightsSpec:
    weights = source / "best.safetensors" if source.is_dir() else source
    report = json.loads((source / "report.json").read_text()) if source.is_dir() else {}
    target = FOLDER / f"{model}-{tag}.safetensors"
    with atomic_path(target) as tmp:
        shutil.copyfile(weights, tmp)
    result, _ = evaluate_weights(model, target, split="test")
    built, meta = model_from_weights(model, target)
    recipe = registered_name(model, json.loads(meta["recipe"]))
    return WeightsSpec(
        model=model,
        tag=tag,
        file=target,
        sha256=file_sha256(target),
        num_classes=int(meta["num_classes"]),
        in_channels=int(meta["in_channels"]),
        input_size=tuple(json.loads(meta["input_size"])),
        mean=tuple(json.loads(meta["mean"])),
        std=tuple(json.loads(meta["std"])),
        labels=tuple(json.loads(meta["labels"])),
        dataset=meta["dataset"],
        recipe=recipe,
        test_accuracy=result.accuracy,
        test_loss=result.loss,
        params=sum(p.numel() for p in built.parameters()),
        trained_on=trained_on or report.get("device", "unknown"),
        torch_version=meta.get("torch_version", torch.__version__),
        date=date.today().isoformat(),
        extra={
            "training_report": {
                k: report[k]
                for k in ("epochs", "best_epoch", "train_seconds", "wall_seconds", "test_accuracy")
                if k in report
            }
        },
    )


def registered_name(model: str, recipe: dict) -> dict:
    """The recipe, named after the model's registered recipe with the same fields, if there is one
    (a run trained with `--recipe fast --epochs 80 ...` is the registered 'erase' recipe)."""
    spec = get_model_spec(model)
    fields = Recipe.from_dict({**recipe, "name": "-"})
    same = [r.name for r in (spec.recipe, *spec.recipes) if r.replace(name="-") == fields]
    return {**recipe, "name": same[0]} if same else recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path)
    parser.add_argument("--model")
    parser.add_argument("--tag", default="fashion_mnist")
    parser.add_argument("--trained-on")
    parser.add_argument("--cards", action="store_true", help="only regenerate weights/README.md")
    args = parser.parse_args()
    entries = read_manifest(FOLDER)
    if not args.cards:
        get_model_spec(args.model)
        entry = ship(args.source, args.model, args.tag, args.trained_on)
        entries = [e for e in entries if (e.model, e.tag) != (entry.model, entry.tag)] + [entry]
        write_manifest(FOLDER, entries)
        print(
            f"{entry.name}: test accuracy {entry.test_accuracy:.4f}, loss {entry.test_loss:.4f}, "
            f"sha256 {entry.sha256}"
        )
    write_bytes(FOLDER / "README.md", render_cards(sorted(entries, key=lambda e: (e.model, e.tag))).encode())


if __name__ == "__main__":
    main()
