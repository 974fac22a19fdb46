"""Trained weights put into a model built for other classes or input channels, as timm's
``load_pretrained`` does: the first convolution's kernels summed or repeated for the channels
asked for, the classifier re-initialised for another number of classes.

Which layers those are is what the model declares (its named parts: ``first_conv`` and
``classifier_layer``, or timm's ``pretrained_cfg``), never guessed from its layer types.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

from ..base.errors import WeightsError
from ..contract.weights_info import WeightsInfo

if TYPE_CHECKING:
    import torch


def load_adapted(
    model: torch.nn.Module, state: dict[str, torch.Tensor], info: WeightsInfo, *, classes: int, channels: int
) -> None:
    """Load ``state`` into ``model``, adapting the first convolution to ``channels`` inputs and
    re-initialising the classifier for another number of classes."""
    name = info.model
    own = model.state_dict()
    if channels != info.in_channels:
        key = _first_conv_key(model)
        state[key] = _adapt_input_conv(state[key], channels)
    mismatched = [k for k in own if k in state and own[k].shape != state[k].shape]
    if mismatched:
        head = _classifier_keys(model)
        if classes == info.num_classes or not set(mismatched) <= set(head):
            raise WeightsError(f"the weights do not fit {name}: {', '.join(mismatched)} differ in shape")
        warnings.warn(
            f"{name}: the weights have {info.num_classes} classes; the classifier ({', '.join(head)}) "
            f"was re-initialised for {classes}",
            stacklevel=4,
        )
        for key in head:
            state[key] = own[key]  # replaced below by a fresh layer's values
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        parts = [
            f"{label} {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise WeightsError(f"the weights do not fit {name}: {'; '.join(parts)}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"the weights do not fit {name}: {str(exc).splitlines()[0]}") from None
    if mismatched:
        _fresh_head(model)


def _fresh_head(model: torch.nn.Module) -> None:
    """Initialise the new classifier as ``reset_classifier`` makes one (the layer's own default,
    torch's ``reset_parameters``), whatever rule the model's builder applies to a network made
    from scratch: a fan-out Kaiming head on trained features gives logits of standard deviation
    18 and a first fine-tuning loss of 18.8, the default one logits of order one."""
    head = model.get_submodule(declared_layer(model, "classifier"))
    for module in head.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()


def adapted_info(info: WeightsInfo, classes: int, channels: int) -> WeightsInfo:
    """``info`` as it holds for the model built: another head has no labels and no measured
    metrics; other input channels share the weights' mean normalisation."""
    changes: dict[str, Any] = {}
    if classes != info.num_classes:
        changes.update(num_classes=classes, labels=(), metrics={})
    if channels != info.in_channels:
        changes["in_channels"] = channels
        for key in ("mean", "std"):
            values = getattr(info, key)
            if values is not None:
                changes[key] = (sum(values) / len(values),) * channels
    return dataclasses.replace(info, **changes) if changes else info


def declared_layer(model: torch.nn.Module, part: str) -> str:
    """The name of the layer ``model`` declares as ``part`` (``first_conv`` or ``classifier``):
    its own attribute (``classifier_layer`` for the classifier, the named-parts contract), else
    timm's ``pretrained_cfg``; a model that declares neither has the first ``Conv2d`` or last
    ``Linear`` guessed for it, with a warning, as zoo 0.1 did."""
    from torch import nn  # the model exists, so torch is loaded already

    own = getattr(model, "classifier_layer" if part == "classifier" else part, None)
    cfg = getattr(model, "pretrained_cfg", None)
    declared = own if isinstance(own, str) else cfg.get(part) if isinstance(cfg, dict) else None
    if isinstance(declared, list | tuple):  # timm may declare several heads; the first is the logits
        declared = declared[0] if declared else None
    if isinstance(declared, str):
        try:
            model.get_submodule(declared)
        except AttributeError:
            raise WeightsError(
                f"{type(model).__name__} declares {part} {declared!r}, which is not one of its layers"
            ) from None
        return declared
    kind = nn.Conv2d if part == "first_conv" else nn.Linear
    found = [n for n, m in model.named_modules() if isinstance(m, kind)]
    if not found:
        raise WeightsError(f"{type(model).__name__} declares no {part} and has no {kind.__name__} to adapt")
    warnings.warn(
        f"{type(model).__name__} declares no {part}; the {'first' if part == 'first_conv' else 'last'} "
        f"{kind.__name__} ({found[0] if part == 'first_conv' else found[-1]}) was taken. Declare it "
        "(SequentialNet does, or set `first_conv` / `classifier_layer` on the model): zoo 0.3 will not guess",
        DeprecationWarning,
        stacklevel=5,
    )
    return found[0] if part == "first_conv" else found[-1]


def _first_conv_key(model: torch.nn.Module) -> str:
    return f"{declared_layer(model, 'first_conv')}.weight"


def _classifier_keys(model: torch.nn.Module) -> list[str]:
    name = declared_layer(model, "classifier")
    return [f"{name}.{p}" for p, _ in model.get_submodule(name).named_parameters()]


def _adapt_input_conv(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """First-convolution kernels for ``channels`` inputs (timm's rule): summed over the trained
    channels for one input channel, else repeated and scaled to keep the activation's size."""
    have = weight.shape[1]
    if channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = -(-channels // have)
    return weight.repeat(1, repeats, 1, 1)[:, :channels] * (have / channels)
