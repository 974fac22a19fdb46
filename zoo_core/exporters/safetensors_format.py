"""The safetensors exporter: the state dict plus string metadata, reloaded strictly before it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..hookspecs import hookimpl
from . import ExportError, ExportJob


@hookimpl
def zoo_register_exporters(register):
    register(
        "safetensors",
        export_safetensors,
        suffix=".safetensors",
        description="The weights as safetensors, with the model's metadata; reloaded strictly as a check.",
    )


def export_safetensors(job: ExportJob, path: Path) -> dict[str, Any]:
    import torch

    from ..registry import create_model
    from ..weights import file_sha256, load_weights, save_weights

    state = job.model.state_dict()
    save_weights(state, path, job.metadata)
    loaded, metadata = load_weights(path)
    fresh = create_model(
        job.model_name,
        num_classes=int(job.metadata["num_classes"]),
        in_channels=int(job.metadata["in_channels"]),
    )
    try:
        fresh.load_state_dict(loaded, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"safetensors reload check failed: {str(exc).splitlines()[0]}") from None
    if metadata != job.metadata or any(not torch.equal(loaded[k], v.cpu()) for k, v in state.items()):
        raise ExportError("safetensors reload check failed: the file does not hold what was written")
    return {
        "check": "reloaded strictly into a fresh model",
        "tensors": len(loaded),
        "sha256": file_sha256(path),
    }
