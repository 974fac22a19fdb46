"""What ``zoo info`` shows of a model that only a built model can tell (FLOPs, feature stages),
remembered in the zoo's cache per model and configuration, so that asking again costs no torch
import. The memory is keyed by the plugin's distribution and version and by the builder
module's file time, so an edited or upgraded plugin is measured afresh.

Nothing here imports torch unless a model has to be measured.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from typing import Any

from .atomic import write_json
from .cache import home
from .entries import ModelSpec
from .registry import is_reference

FACTS_FILE = "model-facts.json"


def model_facts(spec: ModelSpec) -> dict[str, Any]:
    """``{"flops": ..., "feature_info": [...] or None}`` of ``spec`` at its registered
    configuration: from the cache when it holds them for this very builder, else measured on
    the meta device and remembered."""
    key = _key(spec)
    known = _read()
    entry = known.get(spec.name)
    if key is not None and isinstance(entry, dict) and entry.get("key") == key:
        return entry["facts"]
    facts = _measure(spec)
    if key is not None:
        known[spec.name] = {"key": key, "facts": facts}
        with contextlib.suppress(OSError):  # an unwritable cache costs the next call a measurement
            home().mkdir(parents=True, exist_ok=True)
            write_json(home() / FACTS_FILE, known)
    return facts


def _key(spec: ModelSpec) -> str | None:
    """What the facts depend on, or None when that cannot be told without importing the
    builder (a callable registered directly)."""
    if not is_reference(spec.builder):
        return None
    module = str(spec.builder).partition(":")[0]
    try:
        found = importlib.util.find_spec(module)
        stamp = os.stat(found.origin).st_mtime_ns if found and found.origin else None
    except (ImportError, ValueError, OSError):
        return None
    if stamp is None:
        return None
    origin = spec.origin
    parts = (origin.distribution, origin.version, spec.builder, stamp, spec.num_classes, spec.in_channels)
    return "|".join([*map(str, parts), "x".join(map(str, spec.input_size))])


def _read() -> dict[str, Any]:
    try:
        data = json.loads((home() / FACTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _measure(spec: ModelSpec) -> dict[str, Any]:
    from .models import skeleton  # imports torch when it builds
    from .parts import has_parts  # imports torch
    from .summary import count_flops  # imports torch

    model = skeleton(spec.name)
    return {
        "flops": count_flops(model, spec.input_shape),
        "feature_info": list(model.feature_info) if has_parts(model) else None,
    }
