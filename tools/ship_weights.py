"""Add trained weights to the built-in plugins: copy a run's best weights into ``weights/``,
measure them with `zoo eval` on the CPU, record their entry in ``zoo_plugins/manifest.json``,
and regenerate the model cards.

    python tools/ship_weights.py RUN_DIR --model fashion_cnn --tag fashion_mnist
    python tools/ship_weights.py --remeasure      # measure every shipped file again
    python tools/ship_weights.py --cards          # only regenerate weights/README.md

RUN_DIR is a `zoo train` run folder (its best.safetensors and report.json are used); a
.safetensors file may be given instead, with --trained-on saying where it was trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path

from zoo_core import (
    Recipe,
    WeightsInfo,
    atomic_path,
    create_model,
    get_model_spec,
    read_manifest,
    write_bytes,
    write_manifest,
)
from zoo_core.models.build import count_params
from zoo_core.store.manifest import render_cards
from zoo_core.training.evaluation import evaluate_weights

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "weights"
MANIFEST = ROOT / "zoo_plugins" / "manifest.json"
LICENSE = "MIT"  # the project's license; the training data, Fashion-MNIST, is MIT-licensed too


def ship(source: Path, model: str, tag: str, trained_on: str | None) -> WeightsInfo:
    weights = source / "best.safetensors" if source.is_dir() else source
    report = json.loads((source / "report.json").read_text()) if source.is_dir() else {}
    target = FOLDER / f"{model}-{tag}.safetensors"
    with atomic_path(target) as tmp:
        shutil.copyfile(weights, tmp)
    built = create_model(model, weights=target)
    info: WeightsInfo = built.zoo_weights
    return measured(
        dataclasses.replace(
            info,
            tag=tag,
            url=target.name,
            size=target.stat().st_size,
            recipe=registered_name(model, info.recipe),
            params=count_params(built),
            source=f"zoo train on {trained_on}" if trained_on else info.source,
            created=date.today().isoformat(),
            license=LICENSE,
            extra={
                "training_report": {
                    k: report[k]
                    for k in ("epochs", "best_epoch", "train_seconds", "wall_seconds", "test_accuracy")
                    if k in report
                }
            },
        )
    )


def measured(entry: WeightsInfo) -> WeightsInfo:
    """``entry`` with the test metrics `zoo eval` measures now: a single pass, and flip TTA beside
    it when the recipe uses it."""
    result, _ = evaluate_weights(entry.model, entry.file, split="test")
    return dataclasses.replace(entry, metrics=result.metrics("test"))


def registered_name(model: str, recipe: Recipe | None) -> Recipe | None:
    """The recipe, named after the model's registered recipe with the same fields, if there is one
    (a run trained with `--recipe fast --epochs 80 ...` is the registered 'erase' recipe)."""
    if recipe is None:
        return None
    spec = get_model_spec(model)
    same = [r.name for r in (spec.recipe, *spec.recipes) if r.replace(name="-") == recipe.replace(name="-")]
    return recipe.replace(name=same[0]) if same else recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path)
    parser.add_argument("--model")
    parser.add_argument("--tag", default="fashion_mnist")
    parser.add_argument("--trained-on")
    parser.add_argument("--remeasure", action="store_true", help="measure every shipped file again")
    parser.add_argument("--cards", action="store_true", help="only regenerate weights/README.md")
    args = parser.parse_args()
    hub = json.loads(MANIFEST.read_text()).get("hub")
    entries = read_manifest(MANIFEST, files=FOLDER)
    if args.remeasure:
        entries = [measured(e) for e in entries]
    elif not args.cards:
        get_model_spec(args.model)
        entries = [e for e in entries if (e.model, e.tag) != (args.model, args.tag)]
        entries.append(ship(args.source, args.model, args.tag, args.trained_on))
    if not args.cards:
        write_manifest(MANIFEST, entries, hub=hub)
        for entry in entries:
            print(entry.name, json.dumps(entry.metrics))
    cards = render_cards(sorted(entries, key=lambda e: (e.model, e.tag or "")))
    write_bytes(FOLDER / "README.md", cards.encode())


if __name__ == "__main__":
    main()
