"""The built-in plugins' trained weights: the entries of ``manifest.json``, package data beside
this module and read as plain JSON so that listing needs no torch. The files themselves are in
the checkout's ``weights/`` folder; an installed wheel downloads them into the cache."""

from __future__ import annotations

from pathlib import Path

from zoo_core import WeightsInfo, manifest_weights

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"
CHECKOUT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def shipped(model: str) -> tuple[WeightsInfo, ...]:
    """The weights entries of ``model``."""
    return manifest_weights(model, MANIFEST, files=CHECKOUT_WEIGHTS)
