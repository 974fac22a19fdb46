"""Which trained weights a reference names: a registered tag, a hub's tag, a bundle folder or a
safetensors file, resolved to its :class:`WeightsInfo` without building the model or downloading
the file (timm's ``_pretrained`` keeps this apart from building, too).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..base.errors import WeightsError, ZooError
from ..contract.weights_info import WeightsInfo
from ..data.datasets import get_dataset
from ..host.entries import ModelSpec
from ..store.bundle import is_bundle, read_bundle
from ..store.hub import hub_weights, pulled_weights
from ..store.paths import hub_override
from ..store.weights import file_sha256, read_header
from .catalogue import get_model_spec

WeightsRef = bool | str | Path
"""True (the model's first weights tag), a tag such as ``"TAG"``, a ``.safetensors``
file, or a weights bundle folder (``model.safetensors`` + ``zoo.json``)."""


def get_weights(model: str, weights: WeightsRef = True, *, hub: str | None = None) -> WeightsInfo:
    """What the weights ``weights`` of ``model`` are (labels, preprocessing, recipe, metrics),
    without building the model or downloading its weights: a tag's manifest entry (a hub's,
    for a tag only ``hub`` or ``$ZOO_HUB`` has), a bundle's ``zoo.json``, or a safetensors
    file's header."""
    info = find_weights(get_model_spec(model), weights, hub=hub)
    if info.sha256 or is_fetched(info):  # a plugin's library checks the weights it fetches
        return info
    return dataclasses.replace(info, sha256=file_sha256(info.file))


def is_fetched(info: WeightsInfo) -> bool:
    """Whether ``info`` is weights a plugin's own library fetches and keeps (its model's
    ``fetch``): they name no file, URL or sha256 of the zoo's."""
    return info.file is None and info.url is None and info.sha256 is None and info.tag is not None


def find_weights(spec: ModelSpec, weights: WeightsRef, *, hub: str | None = None) -> WeightsInfo:
    """The weights ``weights`` names, nothing downloaded yet: a registered or hub entry, or a
    bundle (each with the sha256 its file must have), or a file's header (no sha256 yet)."""
    if weights is True:
        if not spec.weights:
            raise WeightsError(f"{spec.name} has no trained weights; train some with `zoo train {spec.name}`")
        return spec.weights[0]
    if not isinstance(weights, str | Path) or not str(weights):
        raise WeightsError(f"weights must be a tag, a .safetensors file or a bundle folder, got {weights!r}")
    for entry in spec.weights:
        if weights == entry.tag:
            return entry
    path = Path(weights)
    hub = hub or hub_override()
    if is_bundle(path):
        info = read_bundle(path)
    elif path.suffix == ".safetensors" or (path.exists() and not path.is_dir()):
        info = _file_info(spec, path)
    elif (entry := _hub_entry(spec.name, str(weights), hub)) is not None:
        info = entry
    elif path.is_dir():
        info = read_bundle(path)  # says what a bundle folder holds
    else:
        tags = ", ".join(e.tag for e in spec.weights if e.tag) or "none"
        raise WeightsError(
            f"{spec.name} has no weights {str(weights)!r}; its weights tags: {tags} "
            "(or give a .safetensors file or a bundle folder, or --hub / ZOO_HUB naming a hub that has it)"
        )
    if info.model != spec.name:
        raise WeightsError(f"{weights} holds weights for {info.model!r}, not {spec.name!r}")
    return info


def _hub_entry(model: str, tag: str, hub: str | None) -> WeightsInfo | None:
    """``model.tag`` of ``hub``, or with no hub set, of the hub this machine pulled it from."""
    return hub_weights(model, tag, hub) if hub else pulled_weights(model, tag)


def _file_info(spec: ModelSpec, path: Path) -> WeightsInfo:
    """What a safetensors file's header says about it (a bare state dict: the registered
    configuration)."""
    header = read_header(path)
    if "model" not in header:  # a bare state dict, e.g. save_file(model.state_dict(), path)
        info = registered_info(spec, spec.num_classes, spec.in_channels, spec.input_size)
    else:
        info = WeightsInfo.from_metadata(header, where=str(path))
    return dataclasses.replace(info, file=path)


def registered_info(spec: ModelSpec, classes: int, channels: int, input_size: tuple[int, int]) -> WeightsInfo:
    """What weights that record nothing about themselves are taken to be: the given shape, with
    the normalisation and labels of the model's recipe dataset where that shape fits it."""
    facts: dict[str, Any] = {}
    try:
        dataset = get_dataset(spec.recipe.dataset)
    except ZooError:
        dataset = None
    if dataset is not None and dataset.in_channels == channels:
        facts.update(mean=dataset.mean, std=dataset.std)
    if dataset is not None and dataset.num_classes == classes:
        facts["labels"] = dataset.classes
    return WeightsInfo(
        model=spec.name, num_classes=classes, in_channels=channels, input_size=input_size, **facts
    )
