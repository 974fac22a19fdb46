"""Weights files: safetensors with a string header, written atomically, read without pickle,
and checked against their recorded sha256 before they are used.

What a header says is :class:`~zoo_core.weights_info.WeightsInfo`'s business; this module only
moves tensors and strings to and from disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError, safe_open

from .atomic import atomic_path
from .errors import WeightsError
from .weights_info import WeightsInfo

if TYPE_CHECKING:
    import torch


def save_weights(
    state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str]
) -> str:
    """Write ``state_dict`` (copied to the CPU, contiguous) to ``path``; return the file's sha256."""
    from safetensors.torch import save_file  # imports torch: only when weights are written

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: str(v) for k, v in metadata.items()})
    return file_sha256(path)


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: its tensors and its header."""
    from safetensors.torch import load_file  # imports torch: only when weights are read

    header = read_header(path)
    try:
        return load_file(str(path)), header
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file: {exc}") from None


def read_header(path: str | Path) -> dict[str, str]:
    """A safetensors file's header (its string metadata), without reading the tensors."""
    path = _existing(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file: {exc}") from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(info: WeightsInfo) -> None:
    """Refuse weights whose file is missing or whose sha256 differs from the recorded one."""
    if info.file is None or info.sha256 is None:
        raise WeightsError(f"{info.name} records no file and sha256 to check")
    if not info.file.is_file():
        raise WeightsError(
            f"weights file {info.file} of {info.name} is missing; restore it from the repository"
        )
    digest = file_sha256(info.file)
    if digest != info.sha256:
        raise WeightsError(
            f"{info.file} fails its sha256 check (manifest {info.sha256[:12]}..., file {digest[:12]}...): "
            "it is corrupted or was changed; restore it from the repository"
        )


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    return path
