"""The safetensors exporter: the state dict plus the model's metadata, reloaded strictly into a
fresh model before it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo_core import ExportError, ExportJob, create_model, hookimpl, load_weights, save_weights


@hookimpl
def zoo_register_exporters(register):
    register(
        "safetensors",
        export_safetensors,
        suffix=".safetensors",
        description="The weights as safetensors, with the model's metadata; reloaded strictly as a check.",
        default=True,
    )


def export_safetensors(job: ExportJob, path: Path) -> dict[str, Any]:
    import torch  # loaded already: the model was built

    state = job.model.state_dict()
    sha256 = save_weights(state, path, job.metadata)
    loaded, metadata = load_weights(path)
    fresh = create_model(
        job.model_name, num_classes=job.weights.num_classes, in_channels=job.weights.in_channels
    )
    try:
        fresh.load_state_dict(loaded, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"safetensors reload check failed: {str(exc).splitlines()[0]}") from None
    if metadata != job.metadata or any(not torch.equal(loaded[k], v.cpu()) for k, v in state.items()):
        raise ExportError("safetensors reload check failed: the file does not hold what was written")
    return {"check": "reloaded strictly into a fresh model", "tensors": len(loaded), "sha256": sha256}
