"""Trained weights as data: ``manifest.json``, one :class:`WeightsInfo` entry per weights file,
readable without torch, and the model cards generated from it."""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from pathlib import Path
from typing import Any

from ..base.atomic import write_json
from ..base.errors import PluginWarning, WeightsError
from ..base.tables import human_size
from ..contract.recipe import Recipe
from ..contract.weights_info import WeightsInfo
from ..host.entries import TrainerSpec
from ..host.training_parts import default_part
from .download import is_url

CARDS = "cards.md"


def read_manifest(path: Path, *, files: Path | None = None, hub: str | None = None) -> list[WeightsInfo]:
    """Every entry of the manifest ``path`` (none when there is no such file), each ``file``
    resolved against ``files`` (default: the manifest's folder) and each relative ``url``
    against the manifest's ``hub`` (or ``hub``, which takes precedence). A file that is not a
    manifest, or a bad entry, is a ``WeightsError`` naming the file and the entry."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
        entries, base = data["weights"], hub or data.get("hub")
        if not isinstance(entries, list) or not (base is None or isinstance(base, str)):
            raise TypeError("'weights' must be a list and 'hub' a string")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise WeightsError(f"{path} is not a weights manifest: {type(exc).__name__}: {exc}") from None
    found = [_entry(path, i, entry, files or path.parent, base) for i, entry in enumerate(entries)]
    names = [e.name for e in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise WeightsError(
            f"{path} lists {twice[0]} more than once; a manifest holds one entry per model and tag"
        )
    return found


def _entry(path: Path, index: int, entry: object, files: Path, hub: str | None) -> WeightsInfo:
    try:
        info = WeightsInfo.from_dict(entry, folder=files)  # type: ignore[arg-type]
    except WeightsError as exc:
        named = (entry.get("model"), entry.get("tag")) if isinstance(entry, dict) else ()
        which = ".".join(str(n) for n in named if n) or f"#{index + 1}"
        raise WeightsError(f"{path}, entry {which}: {exc}") from None
    return dataclasses.replace(info, hub=hub) if hub and info.hub is None else info


def manifest_weights(model: str, manifest: Path, *, files: Path | None = None) -> tuple[WeightsInfo, ...]:
    """The entries of ``model`` in a plugin's manifest, which it ships as package data, for its
    ``register(..., weights=...)``. ``files`` is where a checkout keeps the hub the manifest
    describes: an entry's bundle found there (``files / url``) is used in place (it is
    downloaded into the cache when not there). A broken manifest costs only its weights, never
    the architectures: one warning naming the file and the entry."""
    return tuple(e for e in _plugin_manifest(manifest.resolve(), files) if e.model == model)


@functools.cache
def _plugin_manifest(manifest: Path, files: Path | None) -> tuple[WeightsInfo, ...]:
    try:
        entries = read_manifest(manifest, files=files)
    except WeightsError as exc:
        warnings.warn(f"{exc}; its models are registered without weights", PluginWarning, stacklevel=4)
        return ()
    return tuple(_in_checkout(e, files) for e in entries)


def _in_checkout(entry: WeightsInfo, files: Path | None) -> WeightsInfo:
    """``entry`` with its file in the checkout's copy of the hub, when it is there."""
    if entry.file is not None or files is None or entry.url is None or is_url(entry.url):
        return entry
    local = files / entry.url
    inside = local.resolve().is_relative_to(files.resolve())  # an entry's url never leaves the hub
    return dataclasses.replace(entry, file=local) if inside and local.is_file() else entry


def write_manifest(path: Path, entries: list[WeightsInfo], *, hub: str | None = None) -> None:
    """Write ``entries`` (sorted by model and tag) atomically as the manifest ``path``, with
    ``hub`` as the base of their relative URLs."""
    rows = [entry_row(e) for e in sorted(entries, key=lambda e: (e.model, e.tag or ""))]
    write_json(path, {"hub": hub, "weights": rows})


def entry_row(entry: WeightsInfo) -> dict[str, Any]:
    """``entry`` as a manifest or bundle stores it: where to find the file only when known, and
    never the hub (the manifest names it once for all its entries)."""
    row = entry.to_dict()
    for key in ("file", "url", "size", "hub"):
        if row[key] is None or key == "hub":
            del row[key]
    return row


def card_rows(entries: list[WeightsInfo]) -> list[tuple[str, ...]]:
    """Table rows of the model cards: one per weights file. The headline accuracy is a single
    pass, what ``model(x)`` gives; flip test-time augmentation is reported beside it."""
    return [
        (
            e.name,
            f"{e.params:,}" if e.params else "-",
            f"{e.in_channels}x{e.input_size[0]}x{e.input_size[1]}",
            metric_text(e.metrics, "test_accuracy"),
            metric_text(e.metrics, "test_accuracy_tta"),
            metric_text(e.metrics, "test_loss"),
            _size(e),
            e.license or "-",
            recipe_summary(e.recipe),
        )
        for e in entries
    ]


CARD_HEADERS = (
    "weights",
    "params",
    "input",
    "test acc",
    "flip TTA",
    "test loss",
    "size",
    "license",
    "recipe",
)
CARD_RIGHT = (1, 3, 4, 5, 6)


def _size(entry: WeightsInfo) -> str:
    size = entry.size
    if size is None and entry.file is not None and entry.file.is_file():
        size = entry.file.stat().st_size
    return human_size(size)


def recipe_summary(recipe: Recipe | None) -> str:
    """One line: optimizer, schedule, epochs, batch, augmentation, averaging and trainer."""
    if recipe is None:
        return "-"
    parts = [
        f"{recipe.name}: {recipe.optimizer or 'default optimizer'} lr {recipe.lr:g}",
        recipe.schedule or "default schedule",
        f"{recipe.epochs} epochs" + (f" (patience {recipe.patience})" if recipe.patience else ""),
        f"batch {recipe.batch_size}",
    ]
    if recipe.augment:
        parts.append("+".join(recipe.augment))
    parts += [_option_text(key, value) for key, value in recipe.options.items() if value is not False]
    if recipe.tta:
        parts.append("flip TTA")
    if recipe.averager:
        parts.append(f"{recipe.averager} weights")
    trainer = default_part(TrainerSpec)
    if recipe.trainer is not None and (trainer is None or recipe.trainer != trainer.name):
        parts.append(f"{recipe.trainer} trainer")
    return ", ".join(parts)


def _option_text(key: str, value: bool | int | float | str) -> str:
    """A part's option as a card says it: 'nesterov', 'label smoothing 0.1'."""
    name = key.replace("_", " ")
    if value is True:
        return name
    return f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"


def metric_text(metrics: dict[str, float], key: str) -> str:
    """A measured figure as cards print it, '-' when it was not measured."""
    return f"{metrics[key]:.4f}" if key in metrics else "-"


def render_cards(entries: list[WeightsInfo]) -> str:
    """A hub's model cards (``cards.md`` beside its manifest), generated from its entries."""
    lines = [
        "# Trained weights",
        "",
        "Generated by `zoo publish` from this hub's `manifest.json`; do not edit by hand. Each file's",
        "sha256 is checked before it is loaded. Test figures are those of the run that trained the",
        "weights, on its dataset's test split: the headline is a single pass (what `model(x)` gives);",
        "`flip TTA` averages each image with its mirror image, as recipes with `tta` do at test time.",
        "",
        "| " + " | ".join(CARD_HEADERS) + " |",
        "|" + "---|" * len(CARD_HEADERS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in card_rows(entries)]
    for e in entries:
        tta = (
            f", with flip TTA {metric_text(e.metrics, 'test_accuracy_tta')}"
            if "test_accuracy_tta" in e.metrics
            else ""
        )
        lines += [
            "",
            f"## {e.name}",
            "",
            f"- file: `{e.url or (e.file.name if e.file else '-')}` ({_size(e)}), sha256 `{e.sha256}`",
            f"- input: {e.in_channels}x{e.input_size[0]}x{e.input_size[1]}, "
            f"normalised with mean {list(e.mean or ())}, std {list(e.std or ())}",
            f"- classes ({e.num_classes}): {', '.join(e.labels)}",
            f"- test accuracy {metric_text(e.metrics, 'test_accuracy')} (single pass){tta}; "
            f"loss {metric_text(e.metrics, 'test_loss')} ({e.dataset} test split)",
            f"- source: {e.source}, torch {e.versions.get('torch', '?')}, {e.created}; license {e.license}",
            f"- recipe: {recipe_summary(e.recipe)}",
            f"- load: `zoo_core.create_model({e.model!r}, weights={e.tag!r})`, "
            f"`torch.hub.load(repo, {e.model!r}, weights={e.tag!r})`, `zoo eval {e.model} --weights {e.tag}`",
        ]
    return "\n".join(lines) + "\n"
