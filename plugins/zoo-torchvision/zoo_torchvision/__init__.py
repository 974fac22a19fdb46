"""torchvision's classification models as zoo models, in the namespace ``torchvision``:
``zoo eval torchvision/resnet50 --weights IMAGENET1K_V2``, ``zoo export torchvision/resnet18
--onnx``, ``zoo train torchvision/resnet18 --data PHOTOS --weights IMAGENET1K_V1``.

Each model's Weights enum members are its weights tags; their files come through torchvision's
own download and cache (``TORCH_HOME``). Listing reads a catalogue built once per torchvision
version and kept in the zoo's cache, so ``zoo list`` does not import torchvision.
"""

from __future__ import annotations

import functools

from zoo_core import Recipe, WeightsInfo, hookimpl

from . import catalogue
from .catalogue import NAMESPACE

__all__ = ["NAMESPACE"]


@hookimpl
def zoo_register_models(register):
    for entry in catalogue.current()["models"]:
        name = f"{NAMESPACE}/{entry['name']}"
        size = tuple(entry["input_size"])
        register(
            name,
            functools.partial(_build, entry["name"]),
            params=entry["params"],
            recipe=Recipe(
                name="photos",
                dataset="image_folder",
                input_size=size,
                batch_size=32,
                optimizer="adamw",
                lr=1e-3,
                weight_decay=0.05,
                schedule="cosine",
                epochs=10,
                augment=("random_resized_crop", "flip"),
                best_by="val_accuracy",
            ),
            description=entry["description"],
            num_classes=1000,
            in_channels=3,
            input_size=size,
            tags=("torchvision", *entry["family"]),
            weights=[_weights_info(name, w, catalogue.current()["labels"]) for w in entry["weights"]],
            fetch="zoo_torchvision.models:fetch",
        )


def _build(name: str, *, num_classes: int = 1000, in_channels: int = 3, **kwargs):
    from .models import build  # imports torchvision: only when a model is built

    return build(name, num_classes=num_classes, in_channels=in_channels, **kwargs)


def _weights_info(model: str, weights: dict, labels: dict[str, list[str]]) -> WeightsInfo:
    return WeightsInfo(
        model=model,
        tag=weights["tag"],
        num_classes=1000,
        in_channels=3,
        input_size=tuple(weights["input_size"]),
        mean=tuple(weights["mean"]),
        std=tuple(weights["std"]),
        interpolation=weights["interpolation"],
        crop_pct=weights["crop_pct"],
        labels=tuple(labels[weights["labels"]]),
        dataset="imagenet-1k",
        metrics=weights["metrics"],
        params=weights["params"],
        license="see torchvision's documentation of the weights",
        source=f"torchvision {catalogue.current()['torchvision']}",
        extra={
            "download": weights["url"],
            **({"recipe_url": weights["recipe"]} if weights.get("recipe") else {}),
        },
    )
