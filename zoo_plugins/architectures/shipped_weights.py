"""The built-in plugins' trained weights: the entries of the repository's ``weights/`` hub (a
folder of bundles and its ``manifest.json``, written by ``zoo publish RUN --to weights/``). The
wheel ships the manifest as ``zoo_plugins/manifest.json`` (a link to ``weights/manifest.json`` in
the checkout), read as plain JSON so that listing needs no torch; a checkout uses the bundles in
place, an installed wheel downloads them into the cache."""

from __future__ import annotations

from pathlib import Path

from zoo_core import WeightsInfo, manifest_weights

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"
CHECKOUT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def shipped(model: str) -> tuple[WeightsInfo, ...]:
    """The weights entries of ``model``."""
    return manifest_weights(model, MANIFEST, files=CHECKOUT_WEIGHTS)
