"""Classifying image files with trained weights, preprocessed the way the weights expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .errors import ZooError


def open_image(path: Path) -> Any:
    """A PIL image, or a one-line error for a folder, a missing file or unreadable data."""
    from PIL import Image, UnidentifiedImageError

    if path.is_dir():
        raise ZooError(f"{path} is a folder; give image files (PNG, JPEG, ...)")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise ZooError(f"image {path} does not exist") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ZooError(f"cannot read image {path}: {exc}") from None


def predict(
    name: str, images: list[Path], *, weights: bool | str | Path = True, topk: int = 5
) -> list[dict[str, Any]]:
    """The ``topk`` most likely labels of each image, with probabilities."""
    import json

    from .weights import model_from_weights, weights_transforms

    pictures = [open_image(Path(p)) for p in images]  # all errors before any work
    model, metadata = model_from_weights(name, weights)
    labels = json.loads(metadata["labels"]) if "labels" in metadata else None
    tta = json.loads(metadata["recipe"]).get("tta", False) if "recipe" in metadata else False
    transform = weights_transforms(name, weights)
    batch = torch.stack([transform(p) for p in pictures])
    with torch.inference_mode():
        logits = model(batch)
        if tta:
            logits = (logits + model(batch.flip(-1))) / 2
        probabilities = logits.float().softmax(1)
    k = min(topk, probabilities.shape[1])
    top = probabilities.topk(k, dim=1)
    return [
        {
            "image": str(path),
            "predictions": [
                {"label": labels[i] if labels else str(i), "index": i, "probability": p}
                for p, i in zip(values.tolist(), indices.tolist(), strict=True)
            ],
        }
        for path, values, indices in zip(images, top.values, top.indices, strict=True)
    ]
