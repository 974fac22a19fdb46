"""The ONNX exporter: torch's dynamo exporter with a dynamic batch axis (height and width too
with ``--dynamic-size``, :mod:`zoo_plugins.exporters.shapes`), checked by ``onnx.checker`` and
gated on parity with onnxruntime before the file is kept, with its parity report beside it
(``NAME.parity.json``). onnxruntime is also the runtime ``zoo bench`` times.

Parity: one onnxruntime CPU session runs fixed-seed inputs at several batch sizes (and input
sizes); the logits must satisfy ``|ort - torch| <= atol + rtol * |torch|`` everywhere, and the
top-1 classes must agree (a disagreement between two logits tied within ``atol`` is excused).

Quantized files (``--quantize int8|fp16``, written as ``NAME.int8.onnx``) are made from the fp32
graph once it passed parity, and gated on accuracy instead: onnxruntime's top-1 over the
held-out split of the model's dataset may fall at most ``max_accuracy_drop`` points below
torch's (:mod:`zoo_plugins.exporters.quantize`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from zoo_core import ExporterOption, ExportError, ExportJob, ExportRuntime, format_table, hookimpl

from .onnx_files import (
    INPUT_NAME,
    add_metadata,
    checked,
    first_line,
    ort_session,
    quiet_logger,
    root_cause,
)
from .quantize import QUANTIZE_OPTIONS, quantized
from .shapes import DYNAMIC_SIZE, checked_shapes, dynamic_shapes, name_size_axes

DEFAULT_OPSET = 18
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3
PARITY_BATCH_SIZES = (1, 3, 8)


OPTIONS = (
    ExporterOption("opset", int, DEFAULT_OPSET, "ONNX opset version.", min=7),
    ExporterOption("atol", float, DEFAULT_ATOL, "Parity gate: absolute tolerance on the logits.", min=0),
    ExporterOption("rtol", float, DEFAULT_RTOL, "Parity gate: relative tolerance on the logits.", min=0),
    ExporterOption("check", bool, True, "Run the parity gate against onnxruntime (the report says if not)."),
    DYNAMIC_SIZE,
    *QUANTIZE_OPTIONS,
)


@hookimpl
def zoo_register_exporters(register):
    register(
        "onnx",
        export_onnx,
        suffix=".onnx",
        description="ONNX (dynamo exporter, dynamic batch), kept only if onnxruntime's logits match torch's.",
        options=OPTIONS,
        runtime=ExportRuntime("onnxruntime", open_runtime),
        default=True,
    )


def export_onnx(job: ExportJob, path: Path) -> dict[str, Any]:
    import torch

    opset = job.options["opset"]
    model = job.model.eval()
    shapes = checked_shapes(job, PARITY_BATCH_SIZES)
    try:
        # the exporter narrates its steps, and prints the traced graph when tracing fails
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), quiet_logger("torch"):
            program = torch.onnx.export(
                model,
                (job.example,),
                dynamo=True,
                dynamic_shapes=dynamic_shapes(job),
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=["logits"],
                external_data=False,
                optimize=True,
            )
    except Exception as exc:
        raise ExportError(
            f"torch.onnx.export failed for {job.model_name}: {first_line(root_cause(exc))}"
        ) from None
    proto = _at_opset(program.model_proto, opset, job.model_name)
    name_size_axes(proto)
    axes = "batch, height, width" if job.options["dynamic_size"] else "batch"
    add_metadata(proto, {**job.metadata, "opset": str(opset), "dynamic_axes": axes})
    checked(proto, job.model_name)
    path.write_bytes(proto.SerializeToString())

    report: dict[str, Any] = {"model": job.model_name, "opset": opset, "versions": versions()}
    if job.options["check"]:
        parity = check_parity(model, path, shapes, atol=job.options["atol"], rtol=job.options["rtol"])
    else:
        parity = {"passed": None, "reason": "not checked (--no-check)"}
    report["parity"] = parity
    summary = parity_summary(parity)
    if parity["passed"] is False:
        raise ExportError(
            f"ONNX parity check failed for {job.model_name}: {parity['reason']}",
            {**report, "summary": summary},
        )
    if job.options["quantize"] != "none":
        report["quantization"] = quantized(job, path)
        summary += report["quantization"]["summary"]
    job.sidecar(".parity.json").write_text(json.dumps(report, indent=2) + "\n")
    return {**report, "summary": summary}


def parity_summary(parity: dict[str, Any]) -> list[str]:
    """The parity result as lines for the console: a header and a table, one row per batch."""
    if parity["passed"] is None:
        return [f"parity: {parity['reason']}"]
    rows = [
        (
            r["input"],
            r["batch_size"],
            f"{r['max_abs_diff']:.2e}",
            f"{r['max_rel_diff']:.2e}",
            "same" if r["top1_agree"] else "differs",
            "pass" if r["passed"] else "FAIL",
        )
        for r in parity["batches"]
    ]
    return [
        f"parity with onnxruntime ({parity['provider']}, atol {parity['atol']:g}, rtol {parity['rtol']:g}):",
        *format_table(("input", "batch", "max |diff|", "max rel diff", "top-1", "result"), rows),
    ]


def check_parity(
    model: Any,
    path: Path,
    shapes: list[tuple[tuple[int, ...], tuple[int, ...]]],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    threads: int | None = None,
) -> dict[str, Any]:
    """Compare onnxruntime's logits with torch's at each (input shape, batch sizes) of
    ``shapes``, with one session."""
    import onnxruntime as ort
    import torch

    session = ort_session(path, threads=threads)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for input_shape, batch_size in ((shape, b) for shape, sizes in shapes for b in sizes):
        x = torch.randn(batch_size, *input_shape, generator=generator)
        with torch.inference_mode():
            expected = model(x).float()
        where = {"input": "x".join(map(str, input_shape)), "batch_size": batch_size}
        try:
            got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
        except Exception as exc:  # onnxruntime's own errors: a graph that cannot take this input
            nan = float("nan")
            rows.append(
                {**where, "max_abs_diff": nan, "max_rel_diff": nan, "error": first_line(exc)}
                | {"within_tolerance": False, "top1_agree": False, "passed": False}
            )
            continue
        diff = (got - expected).abs()
        allowed = atol + rtol * expected.abs()
        top_torch, top_ort = expected.argmax(1), got.argmax(1)
        # a different top-1 is excused when torch's logits for both classes tie within atol
        tied = (expected.gather(1, top_torch[:, None]) - expected.gather(1, top_ort[:, None])).abs().squeeze(
            1
        ) <= atol
        rows.append(
            {
                **where,
                "max_abs_diff": diff.max().item(),
                "max_rel_diff": (diff / expected.abs().clamp_min(1e-12)).max().item(),
                "within_tolerance": bool((diff <= allowed).all()),
                "top1_agree": bool(((top_torch == top_ort) | tied).all()),
            }
        )
        rows[-1]["passed"] = rows[-1]["within_tolerance"] and rows[-1]["top1_agree"]
    failed = [r for r in rows if not r["passed"]]
    reason = "all batch sizes within tolerance, same top-1"
    if failed:
        r = failed[0]
        where = f"at batch size {r['batch_size']}" + (f" and input {r['input']}" if len(shapes) > 1 else "")
        if "error" in r:
            reason = f"{where} onnxruntime fails ({r['error']})"
        elif not r["within_tolerance"]:
            allowed_text = f"allowed {atol:g} + {rtol:g} * |torch|"
            reason = f"{where} the max difference is {r['max_abs_diff']:.3g} ({allowed_text})"
        else:
            reason = f"{where} onnxruntime picks a different top-1 class"
        if r["input"] != "x".join(map(str, shapes[0][0])):
            reason += "; the exported graph does not take other sizes: export it without --dynamic-size"
    return {
        "passed": not failed,
        "reason": reason,
        "atol": atol,
        "rtol": rtol,
        "provider": session.get_providers()[0],
        "batches": rows,
        "ort_version": ort.__version__,
    }


def open_runtime(path: Path, *, threads: int, device: str) -> Callable[[Any], Any] | None:
    """A call that runs ``path`` on a CPU tensor batch in onnxruntime, on ``device`` (None
    when this onnxruntime cannot run there)."""
    import onnxruntime as ort

    provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        return None
    session = ort_session(path, threads=threads, providers=[provider])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch.numpy()})


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import onnxscript
    import torch

    return {
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def _at_opset(proto: Any, opset: int, name: str) -> Any:
    """``proto`` at the asked-for opset: the exporter may write a newer one than it was asked
    for (with a warning nobody sees), so convert it with onnx's converter or refuse."""
    import onnx

    written = _opset(proto)
    if written == opset:
        return proto
    try:
        converted = onnx.version_converter.convert_version(proto, opset)
    except Exception as exc:
        reason = first_line(exc).rsplit(": ", 1)[-1]
        raise ExportError(
            f"the ONNX exporter wrote {name} at opset {written}, not the {opset} asked for, and onnx cannot "
            f"convert it ({reason}); ask for --opset {written} or higher"
        ) from None
    if _opset(converted) != opset:
        raise ExportError(f"{name}: onnx converted opset {written} to {_opset(converted)}, not {opset}")
    return converted


def _opset(proto: Any) -> int | None:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
