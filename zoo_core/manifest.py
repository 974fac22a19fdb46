"""Trained weights as data: ``manifest.json``, one :class:`WeightsInfo` entry per weights file,
readable without torch, and the model cards generated from it."""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import write_json
from .errors import WeightsError
from .recipe import Recipe
from .weights_info import WeightsInfo

MANIFEST = "manifest.json"


def read_manifest(folder: Path) -> list[WeightsInfo]:
    """Every entry of ``folder/manifest.json`` (none when there is no manifest); a file that is
    not a manifest is a ``WeightsError`` naming it."""
    path = folder / MANIFEST
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text())["weights"]
        return [WeightsInfo.from_dict(entry, folder=folder) for entry in entries]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise WeightsError(f"{path} is not a weights manifest: {type(exc).__name__}: {exc}") from None
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None


def write_manifest(folder: Path, entries: list[WeightsInfo]) -> None:
    write_json(
        folder / MANIFEST, {"weights": [e.to_dict() for e in sorted(entries, key=lambda e: (e.model, e.tag))]}
    )


def card_rows(entries: list[WeightsInfo]) -> list[tuple[str, ...]]:
    """Table rows of the model cards: one per weights file."""
    return [
        (
            e.name,
            f"{e.params:,}" if e.params else "-",
            f"{e.in_channels}x{e.input_size[0]}x{e.input_size[1]}",
            _metric(e, "test_accuracy"),
            _metric(e, "test_loss"),
            f"{e.file.stat().st_size / 1e6:.1f} MB" if e.file and e.file.exists() else "missing",
            recipe_summary(e.recipe),
        )
        for e in entries
    ]


CARD_HEADERS = ("weights", "params", "input", "test acc", "test loss", "size", "recipe")


def recipe_summary(recipe: Recipe | None) -> str:
    """One line: optimizer, schedule, epochs, batch and augmentation of a recipe."""
    if recipe is None:
        return "-"
    parts = [
        f"{recipe.name}: {recipe.optimizer} lr {recipe.lr:g}",
        recipe.schedule,
        f"{recipe.epochs} epochs" + (f" (patience {recipe.patience})" if recipe.patience else ""),
        f"batch {recipe.batch_size}",
    ]
    if recipe.augment:
        parts.append("+".join(recipe.augment))
    if recipe.label_smoothing:
        parts.append(f"label smoothing {recipe.label_smoothing:g}")
    if recipe.tta:
        parts.append("flip TTA")
    return ", ".join(parts)


def _metric(entry: WeightsInfo, key: str) -> str:
    return f"{entry.metrics[key]:.4f}" if key in entry.metrics else "-"


def render_cards(entries: list[WeightsInfo]) -> str:
    """``weights/README.md``: the model cards, generated from the manifest."""
    lines = [
        "# Trained weights",
        "",
        "Generated from `manifest.json` by `python tools/ship_weights.py --cards`; do not edit by hand.",
        "Each file's sha256 is checked before it is loaded. Test accuracy is measured by `zoo eval` on",
        "the 10,000 Fashion-MNIST test images on the CPU, in full precision.",
        "",
        "| " + " | ".join(CARD_HEADERS) + " |",
        "|" + "---|" * len(CARD_HEADERS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in card_rows(entries)]
    for e in entries:
        lines += [
            "",
            f"## {e.name}",
            "",
            f"- file: `{e.file.name}` ({e.file.stat().st_size:,} bytes), sha256 `{e.sha256}`",
            f"- input: {e.in_channels}x{e.input_size[0]}x{e.input_size[1]}, "
            f"normalised with mean {list(e.mean)}, "
            f"std {list(e.std)}",
            f"- classes ({e.num_classes}): {', '.join(e.labels)}",
            f"- test accuracy {_metric(e, 'test_accuracy')}, loss {_metric(e, 'test_loss')} "
            f"({e.dataset} test split)",
            f"- source: {e.source}, torch {e.versions.get('torch', '?')}, {e.created}; license {e.license}",
            f"- recipe: {recipe_summary(e.recipe)}",
            f"- load: `zoo.create_model({e.model!r}, weights={e.tag!r})`, "
            f"`torch.hub.load(repo, {e.model!r}, weights={e.tag!r})`, `zoo eval {e.model} --weights {e.tag}`",
        ]
    return "\n".join(lines) + "\n"
