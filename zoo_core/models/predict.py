"""Classifying image files with trained weights, preprocessed the way the weights expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError

from ..base.errors import ZooError
from ..host.training_parts import mirrors_help
from .factory import create_model
from .pretrained import WeightsRef


def open_image(path: Path) -> Any:
    """A PIL image, or a one-line error for a folder, a missing file or unreadable data."""
    if path.is_dir():
        raise ZooError(f"{path} is a folder; give image files (PNG, JPEG, ...)")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise ZooError(f"image {path} does not exist") from None
    except Image.DecompressionBombError:
        raise ZooError(
            f"image {path} is too large to decode safely (over {Image.MAX_IMAGE_PIXELS:,} pixels); "
            "resize it first"
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ZooError(f"cannot read image {path}: {exc}") from None


def predict(
    name: str, images: list[Path], *, weights: WeightsRef = True, topk: int = 5, tta: bool | None = None
) -> list[dict[str, Any]]:
    """The ``topk`` most likely labels of each image, with probabilities, each image prepared as
    the weights' ``transforms()`` say. ``tta``: also average each image's mirror image (None: when
    the weights trained on mirrored images and the average did better on their validation
    split); each result says which."""
    pictures = [open_image(Path(p)) for p in images]  # all errors before any work
    model = create_model(name, weights=weights).eval()
    info = model.zoo_weights
    labels = info.labels
    if tta is None:
        tta = info.recipe is not None and mirrors_help(info.recipe, info.metrics)
    transform = info.transforms()
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
            "mirrored": tta,
            "predictions": [
                {"label": labels[i] if labels else str(i), "index": i, "probability": p}
                for p, i in zip(values.tolist(), indices.tolist(), strict=True)
            ],
        }
        for path, values, indices in zip(images, top.values, top.indices, strict=True)
    ]
