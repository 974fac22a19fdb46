"""The example plugin's exporter: TorchScript through ``torch.jit.trace``, reloaded and compared
with the eager model before the zoo keeps the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo_core import ExportError, ExportJob


def export_torchscript(job: ExportJob, path: Path) -> dict[str, Any]:
    import torch

    with torch.no_grad():
        traced = torch.jit.trace(job.model, job.example)
        if job.options["freeze"]:
            traced = torch.jit.freeze(traced)
        traced.save(str(path), _extra_files={"zoo.json": json.dumps(job.metadata)})
        reloaded = torch.jit.load(str(path))
        expected, got = job.model(job.example), reloaded(job.example)
    if not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
        raise ExportError(f"TorchScript reload check failed for {job.model_name}: the logits differ")
    return {
        "check": "reloaded with torch.jit.load, same logits",
        "frozen": job.options["freeze"],
        "torch": torch.__version__,
    }
