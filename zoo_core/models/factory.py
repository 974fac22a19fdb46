"""``create_model``: a registered model built fresh or with trained weights, adapted to the
classes and channels asked for.

A model built here carries ``model.zoo_weights``: the :class:`WeightsInfo` of the weights it
holds (adapted to the classes and channels asked for), or None when it is freshly initialised, as
timm's models carry ``pretrained_cfg``. Nothing here imports torch until a model is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.errors import BuilderArgumentError, WeightsError
from ..host.entries import ModelSpec
from ..host.registry import load_object
from ..store.bundle import is_bundle, read_bundle
from ..store.hub import locate
from ..store.weights import file_sha256, load_weights
from .adapt import adapted_info, load_adapted
from .build import build, initialisers_skipped
from .catalogue import get_model_spec
from .pretrained import WeightsRef, find_weights, is_fetched

if TYPE_CHECKING:
    import torch


def create_model(
    name: str | None = None,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    weights: WeightsRef | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    """Build model ``name``, freshly initialised or with trained ``weights``.

    ``weights``: None or False for none, True for the model's first weights tag, a tag such as
    ``"TAG"``, a ``.safetensors`` file, or a weights bundle folder (then ``name`` may
    be left out: the bundle says which model it holds). A tag's file comes from the checkout,
    the cache or its hub (``$ZOO_HUB`` for tags only a hub has), and every file with a recorded
    sha256 is checked before it is read.
    ``num_classes`` and ``in_channels`` default to the weights' (or the registered
    configuration); asking for others re-initialises the classifier (with a warning) or adapts
    the first convolution, as timm does. Any other keyword goes to the builder, which must
    accept it.
    ``features_only``: a module that returns the stage feature maps (those at ``out_indices``,
    all by default) as a list instead of logits, for models with named parts
    (:mod:`zoo_core.models.named_parts`; ``zoo info NAME`` says whether a model has them).
    """
    model = _create(name, num_classes=num_classes, in_channels=in_channels, weights=weights, **builder_kwargs)
    if not features_only:
        if out_indices is not None:
            raise BuilderArgumentError("out_indices selects feature maps: give it with features_only=True")
        return model
    from .named_parts import FeatureMaps  # imports torch, as the model built has

    info = model.zoo_weights
    model = FeatureMaps(model, out_indices)
    model.zoo_weights = info
    return model


def _create(
    name: str | None,
    *,
    num_classes: int | None,
    in_channels: int | None,
    weights: WeightsRef | None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    if name is None:
        if not isinstance(weights, str | Path) or not is_bundle(Path(weights)):
            raise WeightsError("create_model needs a model name, unless weights= is a weights bundle folder")
        name = read_bundle(Path(weights)).model
    spec = get_model_spec(name)
    if weights is None or weights is False:
        model = build(spec, num_classes=num_classes, in_channels=in_channels, **builder_kwargs)
        model.zoo_weights = None
        return model
    info = find_weights(spec, weights)
    if is_fetched(info):
        state = load_object(spec.fetch, f"model {spec.name}")(info)  # its plugin's library checks them
    else:
        if info.sha256 is not None:
            info = locate(info)
        state, _ = load_weights(info.file)
        if info.sha256 is None:
            info = dataclasses.replace(info, sha256=file_sha256(info.file))
    classes = info.num_classes if num_classes is None else num_classes
    channels = info.in_channels if in_channels is None else in_channels
    model = None
    if (classes, channels) == (info.num_classes, info.in_channels):
        model = _built_from(spec, state, classes=classes, channels=channels, **builder_kwargs)
    if model is None:
        model = build(spec, num_classes=classes, in_channels=channels, **builder_kwargs)
        load_adapted(model, state, info, classes=classes, channels=channels)
    model.zoo_weights = adapted_info(info, classes, channels)
    return model


def _built_from(
    spec: ModelSpec, state: dict[str, torch.Tensor], *, classes: int, channels: int, **builder_kwargs: Any
) -> torch.nn.Module | None:
    """The model built without initialising its weights and given the loaded tensors
    themselves, which skips work the load would overwrite; None when the tensors do not fit it
    exactly, for the checked path."""
    with initialisers_skipped():
        model = build(spec, num_classes=classes, in_channels=channels, **builder_kwargs)
    own = model.state_dict()
    if own.keys() != state.keys() or any(own[k].shape != state[k].shape for k in own):
        return None
    model.load_state_dict(state, assign=True)
    return model


def skeleton(name: str, **kwargs: Any) -> torch.nn.Module:
    """Model ``name`` on the meta device with nothing initialised: its structure, shapes and
    parameter count for no memory and no time (``zoo info``, ``zoo plugins --check``)."""
    import torch  # heavy: only when a model is built

    with torch.device("meta"), initialisers_skipped():
        return create_model(name, **kwargs)
