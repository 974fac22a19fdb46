"""Trained weights as data: a manifest entry per weights file, readable without torch, and the
model cards generated from it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import PluginError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class WeightsSpec:
    """One weights file of one model: where it is, how to check it, what it expects, how good it is."""

    model: str
    tag: str
    file: Path
    sha256: str
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    labels: tuple[str, ...]
    dataset: str
    recipe: dict[str, Any]
    test_accuracy: float
    test_loss: float
    params: int
    trained_on: str
    torch_version: str
    date: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``model.tag``, as timm names pretrained weights."""
        return f"{self.model}.{self.tag}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["file"] = self.file.name
        data["input_size"] = list(self.input_size)
        data["mean"], data["std"], data["labels"] = list(self.mean), list(self.std), list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> WeightsSpec:
        try:
            return cls(
                **{
                    **data,
                    "file": folder / data["file"],
                    "input_size": tuple(data["input_size"]),
                    "mean": tuple(data["mean"]),
                    "std": tuple(data["std"]),
                    "labels": tuple(data["labels"]),
                }
            )
        except (KeyError, TypeError) as exc:
            raise PluginError(
                f"weights manifest entry {data.get('model')}.{data.get('tag')} is malformed: {exc}"
            ) from None


def read_manifest(folder: Path) -> list[WeightsSpec]:
    """Every entry of ``folder/manifest.json`` (none when there is no manifest)."""
    path = folder / MANIFEST
    if not path.is_file():
        return []
    return [WeightsSpec.from_dict(entry, folder) for entry in json.loads(path.read_text())["weights"]]


def write_manifest(folder: Path, entries: list[WeightsSpec]) -> None:
    from .atomic import write_bytes

    data = {"weights": [e.to_dict() for e in sorted(entries, key=lambda e: (e.model, e.tag))]}
    write_bytes(folder / MANIFEST, (json.dumps(data, indent=2) + "\n").encode())


def card_rows(entries: list[WeightsSpec]) -> list[tuple[str, ...]]:
    """Table rows of the model cards: one per weights file."""
    return [
        (
            e.name,
            f"{e.params:,}",
            f"{e.in_channels}x{e.input_size[0]}x{e.input_size[1]}",
            f"{e.test_accuracy:.4f}",
            f"{e.test_loss:.4f}",
            f"{e.file.stat().st_size / 1e6:.1f} MB" if e.file.exists() else "missing",
            recipe_summary(e.recipe),
        )
        for e in entries
    ]


CARD_HEADERS = ("weights", "params", "input", "test acc", "test loss", "size", "recipe")


def recipe_summary(recipe: dict[str, Any]) -> str:
    parts = [
        f"{recipe['name']}: {recipe['optimizer']} lr {recipe['lr']:g}",
        f"{recipe['schedule']}",
        f"{recipe['epochs']} epochs"
        + (f" (patience {recipe['patience']})" if recipe.get("patience") else ""),
        f"batch {recipe['batch_size']}",
    ]
    if recipe.get("augment"):
        parts.append("+".join(recipe["augment"]))
    if recipe.get("label_smoothing"):
        parts.append(f"label smoothing {recipe['label_smoothing']:g}")
    if recipe.get("tta"):
        parts.append("flip TTA")
    return ", ".join(parts)


def render_cards(entries: list[WeightsSpec]) -> str:
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
            f"- test accuracy {e.test_accuracy:.4f}, loss {e.test_loss:.4f} ({e.dataset} test split)",
            f"- trained with `zoo train` on {e.trained_on}, torch {e.torch_version}, {e.date}",
            f"- recipe: {recipe_summary(e.recipe)}",
            f"- load: `zoo.create_model({e.model!r}, weights={e.tag!r})`, "
            f"`torch.hub.load(repo, {e.model!r}, weights={e.tag!r})`, `zoo eval {e.model} --weights {e.tag}`",
        ]
    return "\n".join(lines) + "\n"
