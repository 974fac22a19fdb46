"""What torchvision offers, read once per torchvision version and kept in the zoo's cache:
each classification model's parameter count, input size and description, and each of its
Weights enum members (preprocessing, ImageNet metrics, download address). Building it imports
torchvision (seconds); reading it back does not (milliseconds), so ``zoo list`` stays fast."""

from __future__ import annotations

import functools
import json
import math
import re
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

from zoo_core import user_cache_dir, write_json

NAMESPACE = "torchvision"
FORMAT = 2  # of the catalogue file; a new format is a new file


def catalogue_path() -> Path:
    """Where the catalogue of the installed torchvision is kept."""
    return user_cache_dir() / "catalogues" / f"torchvision-{version('torchvision')}-{FORMAT}.json"


@functools.cache
def current() -> dict[str, Any]:
    """The catalogue of the installed torchvision: read from the cache, or built and kept there."""
    path = catalogue_path()
    try:
        found = json.loads(path.read_text())
        if found.get("format") == FORMAT and found.get("torchvision") == version("torchvision"):
            return found
    except (OSError, ValueError, AttributeError):
        pass  # not built for this version yet, or damaged: build it again
    built = build_catalogue()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, built)
    except OSError as exc:  # a read-only cache costs the next process the build, nothing more
        warnings.warn(f"cannot keep torchvision's catalogue in {path.parent}: {exc}", stacklevel=2)
    return built


def build_catalogue() -> dict[str, Any]:
    """Read every classification model of ``torchvision.models`` and its weights."""
    from torchvision import models  # heavy: once per torchvision version

    labels: dict[str, list[str]] = {}
    entries = []
    for name in models.list_models(module=models):
        members = list(models.get_model_weights(name))
        weights = [_weights(member, labels) for member in members]
        entries.append(
            {
                "name": name,
                "params": count_params(name),
                "input_size": weights[0]["input_size"] if weights else [224, 224],
                "description": _description(models.get_model_builder(name).__doc__, name),
                "family": [re.sub(r"[_0-9].*$", "", name)],
                "weights": weights,
            }
        )
    return {"format": FORMAT, "torchvision": version("torchvision"), "labels": labels, "models": entries}


def count_params(name: str) -> int:
    """``name``'s parameter count at 1000 classes, built without initialising it: on the meta
    device where it builds there (no memory), else on the CPU (regnet computes its widths)."""
    from .models import skeleton

    return sum(p.numel() for p in skeleton(name).parameters())


def _weights(member: Any, labels: dict[str, list[str]]) -> dict[str, Any]:
    meta, transform = member.meta, member.transforms()
    categories = list(meta.get("categories") or [])
    key = next((k for k, v in labels.items() if v == categories), f"labels{len(labels)}")
    labels.setdefault(key, categories)
    crop = _pair(transform.crop_size)
    resize = _pair(transform.resize_size)
    metrics = next(iter(meta.get("_metrics", {}).values()), {})
    return {
        "tag": member.name,
        "url": member.url,
        "params": meta.get("num_params"),
        "input_size": crop,
        "crop_pct": min(1.0, min(crop) / min(resize)),
        "interpolation": transform.interpolation.value,
        "mean": list(transform.mean),
        "std": list(transform.std),
        "labels": key,
        "metrics": {
            f"imagenet_{k.replace('@', '')}": v / 100 for k, v in metrics.items() if math.isfinite(v)
        },
        "recipe": meta.get("recipe"),
    }


def _pair(size: Any) -> list[int]:
    values = list(size) if isinstance(size, list | tuple) else [size]
    return [int(values[0]), int(values[-1])]


def _description(doc: str | None, name: str) -> str:
    """The builder's first sentence, without reStructuredText's link markup."""
    text = " ".join((doc or "").strip().split("\n\n")[0].split())
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    return f"torchvision's {name}: {text}" if text else f"torchvision's {name}."
