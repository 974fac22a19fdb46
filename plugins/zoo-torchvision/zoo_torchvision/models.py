"""Building torchvision's models and fetching their weights, through torchvision's own code:
its builders, its download (checked against the hash its file names carry) and its cache
(``TORCH_HOME``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision import models

from zoo_core import BuilderArgumentError, WeightsInfo, ZooError

from .catalogue import NAMESPACE

# Models whose training-time auxiliary heads the zoo builds without: its trainer uses the main
# logits only, and torchvision's weights for them hold none (it drops the heads when loading).
NO_AUX = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


def build(name: str, *, num_classes: int = 1000, in_channels: int = 3, **kwargs: Any) -> nn.Module:
    """torchvision's ``name`` with ``num_classes`` outputs, freshly initialised (GoogLeNet and
    Inception v3 without their auxiliary heads, as torchvision's weights are)."""
    if in_channels != 3:
        raise BuilderArgumentError(
            f"{NAMESPACE}/{name} takes 3 input channels (RGB), got in_channels={in_channels}; "
            "convert grey images to RGB"
        )
    return models.get_model(name, num_classes=num_classes, **{**NO_AUX.get(name, {}), **kwargs})


def skeleton(name: str) -> nn.Module:
    """``name`` at its default configuration, its weights not initialised: on the meta device
    where it builds there, else on the CPU."""
    from zoo_core.models.build import initialisers_skipped

    try:
        with torch.device("meta"), initialisers_skipped():
            return build(name)
    except NotImplementedError:  # a builder that computes with tensors (regnet's widths)
        with initialisers_skipped():
            return build(name)


def fetch(info: WeightsInfo) -> dict[str, torch.Tensor]:
    """The tensors of weights tag ``info.tag`` of ``info.model``: from ``TORCH_HOME``'s
    checkpoints, downloaded there by torchvision when missing (and checked against the sha256
    prefix in the file's name), read with ``weights_only=True``."""
    name = info.model.removeprefix(f"{NAMESPACE}/")
    try:
        member = models.get_model_weights(name)[info.tag]
    except KeyError:
        raise ZooError(f"torchvision has no weights {info.tag!r} for {name}") from None
    try:
        return member.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except (OSError, RuntimeError) as exc:  # offline, a cut download, a damaged file
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ZooError(
            f"cannot fetch torchvision's {info.tag} weights of {name} into {torch.hub.get_dir()}: {reason}"
        ) from None
