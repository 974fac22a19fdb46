"""Weights files: safetensors with string metadata, written atomically, read without pickle."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .errors import ZooError


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
        raise ZooError(f"weights file {path} does not exist")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise ZooError(f"{path} is not a readable safetensors file: {exc}") from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_from_weights(name: str, path: str | Path) -> tuple[torch.nn.Module, dict[str, str]]:
    """Model ``name`` built to the shape its weights file records, with those weights loaded."""
    from .registry import create_model

    state, metadata = load_weights(path)
    if metadata.get("model", name) != name:
        raise ZooError(f"{path} holds weights for {metadata['model']!r}, not {name!r}")
    kwargs = {k: int(metadata[k]) for k in ("num_classes", "in_channels") if k in metadata}
    model = create_model(name, **kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ZooError(f"{path} does not fit {name}: {first}") from None
    return model.eval(), metadata
