"""What ``zoo info`` shows of a model that only a built model can tell (FLOPs, feature stages),
remembered per model and configuration, so that asking costs no torch import. Facts are keyed
by the plugin's distribution and version, the builder and the sha256 of the builder module's
source, so an edited or upgraded plugin is measured afresh.

They come from the zoo's cache (:func:`~zoo_core.store.paths.facts_cache`), else from a
measurement on the meta device (a second or two, the first time a model is described),
remembered in the cache. No plugin ships facts: a file that has to be regenerated whenever a
builder changes is a file that goes stale.

Nothing here imports torch unless a model has to be measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from ..base.atomic import write_json
from ..host.entries import ModelSpec
from ..host.registry import is_reference
from ..store.paths import facts_cache


def model_facts(spec: ModelSpec) -> dict[str, Any]:
    """``{"flops": ..., "feature_info": [...] or None}`` of ``spec`` at its registered
    configuration: from the cache when it holds them for this very builder, else measured on
    the meta device and remembered in the cache."""
    key = facts_key(spec)
    known = _read(facts_cache())
    entry = known.get(spec.name)
    if key is not None and isinstance(entry, dict) and entry.get("key") == key:
        return entry["facts"]
    facts = measure_facts(spec)
    if key is not None:
        known[spec.name] = {"key": key, "facts": facts}
        with contextlib.suppress(OSError):  # an unwritable cache costs the next call a measurement
            facts_cache().parent.mkdir(parents=True, exist_ok=True)
            write_json(facts_cache(), known)
    return facts


def facts_key(spec: ModelSpec) -> str | None:
    """What the facts depend on, or None when that cannot be told without importing the
    builder (a callable registered directly)."""
    source = _builder_file(spec)
    if source is None:
        return None
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    except OSError:
        return None
    origin = spec.origin
    parts = (origin.distribution, origin.version, spec.builder, digest, spec.num_classes, spec.in_channels)
    return "|".join([*map(str, parts), "x".join(map(str, spec.input_size))])


def _builder_file(spec: ModelSpec) -> Path | None:
    if not is_reference(spec.builder):
        return None
    try:
        found = importlib.util.find_spec(str(spec.builder).partition(":")[0])
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found and found.origin else None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def measure_facts(spec: ModelSpec) -> dict[str, Any]:
    """Build ``spec``'s model on the meta device and count its FLOPs and stages (imports torch)."""
    from .factory import skeleton  # imports torch when it builds
    from .named_parts import has_parts  # imports torch
    from .summary import count_flops  # imports torch

    model = skeleton(spec.name)
    return {
        "flops": count_flops(model, spec.input_shape),
        "feature_info": list(model.feature_info) if has_parts(model) else None,
    }
