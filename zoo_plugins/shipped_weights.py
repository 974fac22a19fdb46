"""The built-in plugins' trained weights: entries of ``weights/manifest.json`` at the root of the
checkout, read as plain JSON so that listing needs no torch."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from zoo_core import WeightsInfo, read_manifest

FOLDER = Path(__file__).resolve().parent.parent / "weights"


@cache
def _entries() -> tuple[WeightsInfo, ...]:
    return tuple(read_manifest(FOLDER))


def shipped(model: str) -> tuple[WeightsInfo, ...]:
    """The weights entries of ``model`` (none when the checkout has no ``weights/`` folder)."""
    return tuple(e for e in _entries() if e.model == model)
