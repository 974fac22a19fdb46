"""Weights files: safetensors with string metadata, written atomically, read without pickle, and
checked against the manifest's sha256 before a shipped file is used."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .errors import ZooError
from .manifest import WeightsSpec

if TYPE_CHECKING:
    from .registry import ModelSpec


class WeightsError(ZooError):
    """A weights tag that does not exist, a file that fails its checks, or weights that do not fit."""


def save_weights(
    state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str]
) -> str:
    """Write ``state_dict`` (on the CPU, contiguous) to ``path``; return the file's sha256."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: str(v) for k, v in metadata.items()})
    return file_sha256(path)


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: its tensors and its metadata."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file: {exc}") from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(spec: ModelSpec, weights: bool | str | Path) -> tuple[Path, WeightsSpec | None]:
    """The file that ``weights`` names for model ``spec``: a tag's file (with its manifest entry),
    the first tag's for True, or a path given directly."""
    if weights is True:
        if not spec.weights:
            raise WeightsError(f"{spec.name} has no trained weights; train some with `zoo train {spec.name}`")
        return spec.weights[0].file, spec.weights[0]
    for entry in spec.weights:
        if weights == entry.tag:
            return entry.file, entry
    path = Path(weights)
    if path.suffix == ".safetensors" or path.exists():
        return path, None
    tags = ", ".join(e.tag for e in spec.weights) or "none"
    raise WeightsError(
        f"{spec.name} has no weights {str(weights)!r}; its weights tags: {tags} (or give a .safetensors file)"
    )


def verify(entry: WeightsSpec) -> None:
    """Refuse a shipped file whose sha256 differs from its manifest entry."""
    if not entry.file.is_file():
        raise WeightsError(
            f"weights file {entry.file} of {entry.name} is missing; restore it from the repository"
        )
    digest = file_sha256(entry.file)
    if digest != entry.sha256:
        raise WeightsError(
            f"{entry.file} fails its sha256 check (manifest {entry.sha256[:12]}..., file {digest[:12]}...): "
            "it is corrupted or was changed; restore it from the repository"
        )


def load_checked(
    spec: ModelSpec, weights: bool | str | Path
) -> tuple[dict[str, torch.Tensor], dict[str, str], WeightsSpec | None]:
    """Tensors and metadata of the weights ``weights`` names, sha256-checked when shipped."""
    path, entry = resolve(spec, weights)
    if entry is not None:
        verify(entry)
    state, metadata = load_weights(path)
    if metadata.get("model", spec.name) != spec.name:
        raise WeightsError(f"{path} holds weights for {metadata['model']!r}, not {spec.name!r}")
    return state, metadata, entry


def model_from_weights(name: str, weights: bool | str | Path) -> tuple[torch.nn.Module, dict[str, str]]:
    """Model ``name`` built to the shape its weights record, with those weights, in eval mode."""
    from .registry import get_model_spec

    model = create_pretrained(get_model_spec(name), weights)
    return model.eval(), model.zoo_weights_metadata


def create_pretrained(
    spec: ModelSpec,
    weights: bool | str | Path,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    """Build ``spec`` and load ``weights``, adapting the classifier or first convolution when the
    requested shape differs from the weights' shape."""
    from .registry import build

    state, metadata, entry = load_checked(spec, weights)
    have_classes = int(metadata.get("num_classes", spec.num_classes))
    have_channels = int(metadata.get("in_channels", spec.in_channels))
    classes = have_classes if num_classes is None else num_classes
    channels = have_channels if in_channels is None else in_channels
    model = build(spec, num_classes=classes, in_channels=channels, **builder_kwargs)
    own = model.state_dict()
    if channels != have_channels:
        key = first_conv_key(model)
        state[key] = adapt_input_conv(state[key], channels)
    mismatched = [k for k in own if k in state and own[k].shape != state[k].shape]
    if mismatched:
        head = classifier_keys(model)
        if classes == have_classes or not set(mismatched) <= set(head):
            raise WeightsError(f"the weights do not fit {spec.name}: {', '.join(mismatched)} differ in shape")
        warnings.warn(
            f"{spec.name}: the weights have {have_classes} classes; the classifier ({', '.join(head)}) "
            f"was re-initialised for {classes}",
            stacklevel=3,
        )
        for key in head:
            state[key] = own[key]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"the weights do not fit {spec.name}: {str(exc).splitlines()[0]}") from None
    model.zoo_weights_metadata = metadata
    model.zoo_weights = entry
    return model


def first_conv_key(model: torch.nn.Module) -> str:
    name = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d))
    return f"{name}.weight"


def classifier_keys(model: torch.nn.Module) -> list[str]:
    name = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    return [f"{name}.{p}" for p, _ in model.get_submodule(name).named_parameters()]


def adapt_input_conv(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """First-convolution kernels for ``channels`` inputs (timm's rule): summed over the trained
    channels for one input channel, else repeated and scaled to keep the activation's size."""
    have = weight.shape[1]
    if channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = -(-channels // have)
    return weight.repeat(1, repeats, 1, 1)[:, :channels] * (have / channels)


def weights_transforms(name: str, weights: bool | str | Path = True) -> Any:
    """The transform a user applies to a PIL image (any size or mode) before the model, as the
    weights were trained: to grayscale or RGB, resize, scale to [0, 1], normalise."""
    from torchvision.transforms import v2

    from .registry import get_model_spec

    spec = get_model_spec(name)
    path, entry = resolve(spec, weights)
    if entry is not None:
        channels, size, mean, std = entry.in_channels, entry.input_size, entry.mean, entry.std
    else:
        _, meta = load_weights(path)
        channels, size = int(meta["in_channels"]), tuple(json.loads(meta["input_size"]))
        mean, std = tuple(json.loads(meta["mean"])), tuple(json.loads(meta["std"]))
    mode = "L" if channels == 1 else "RGB"
    return v2.Compose(
        [
            v2.Lambda(lambda image: image.convert(mode)),
            v2.Resize(tuple(size), antialias=True),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(mean), list(std)),
        ]
    )
