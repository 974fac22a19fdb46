"""The ExportedProgram exporter: ``torch.export`` with a dynamic batch (height and width too
with ``--dynamic-size``), saved with ``torch.export.save`` (``.pt2``), and kept only if the
program loaded back with ``torch.export.load`` gives the model's logits at several batch sizes
(and input sizes). The program runs without the zoo or the plugin that built the model
(``torch.export.load(path).module()``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from zoo_core import ExporterOption, ExportError, ExportJob, hookimpl

from .shapes import DYNAMIC_SIZE, checked_shapes, dynamic_shapes

PARITY_BATCH_SIZES = (1, 3, 8)

OPTIONS = (
    ExporterOption("pt2_atol", float, 1e-5, "pt2 parity: absolute tolerance on the logits.", min=0),
    ExporterOption("pt2_rtol", float, 1e-4, "pt2 parity: relative tolerance on the logits.", min=0),
    DYNAMIC_SIZE,
)


@hookimpl
def zoo_register_exporters(register):
    register(
        "pt2",
        export_pt2,
        suffix=".pt2",
        description="torch.export ExportedProgram (dynamic batch), kept only if the reloaded program "
        "matches the model.",
        options=OPTIONS,
    )


def export_pt2(job: ExportJob, path: Path) -> dict[str, Any]:
    import torch

    model = job.model.eval()
    shapes = checked_shapes(job, PARITY_BATCH_SIZES)
    try:
        program = torch.export.export(model, (job.example,), dynamic_shapes=dynamic_shapes(job))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"torch.export failed for {job.model_name}: {first}") from None
    # saved through a buffer: the archive's folder is then "archive", not the temporary file's
    # random name, so the same weights give the same bytes every time
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={"zoo.json": json.dumps(job.metadata, sort_keys=True)})
    path.write_bytes(buffer.getbuffer())
    loaded = torch.export.load(path).module()
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    for shape, size in ((shape, b) for shape, sizes in shapes for b in sizes):
        x = torch.randn((size, *shape), generator=generator)
        with torch.no_grad():
            expected = model(x)
            try:
                found = loaded(x)
            except Exception as exc:  # the program's guards refuse a size it was specialised to
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ExportError(
                    f"pt2 parity failed for {job.model_name}: the reloaded program cannot take input "
                    f"{'x'.join(map(str, shape))} ({first}); export it without --dynamic-size"
                ) from None
        excess = ((found - expected).abs() - job.options["pt2_rtol"] * expected.abs()).max().item()
        worst = max(worst, excess)
        if found.shape != expected.shape or excess > job.options["pt2_atol"]:
            raise ExportError(
                f"pt2 parity failed for {job.model_name} at batch {size}, input {'x'.join(map(str, shape))}: "
                "the reloaded program's "
                f"logits differ by {excess:.3g} beyond the relative tolerance, over the atol of "
                f"{job.options['pt2_atol']:g}"
            )
    checked = "; ".join(
        f"{'x'.join(map(str, shape))} at batch {', '.join(map(str, b))}" for shape, b in shapes
    )
    return {
        "check": f"reloaded with torch.export.load, logits match for inputs {checked}",
        "worst_excess": worst,
        "summary": [f"parity with the model for inputs {checked}: passed"],
    }
