"""The ONNX exporter: torch's dynamo exporter with a dynamic batch axis, checked by
``onnx.checker`` and gated on parity with onnxruntime before the file is kept.

Parity: one onnxruntime CPU session runs fixed-seed inputs at several batch sizes; the logits
must satisfy ``|ort - torch| <= atol + rtol * |torch|`` everywhere, and the top-1 classes must
agree (a disagreement between two logits tied within ``atol`` is excused).
"""

from __future__ import annotations

import inspect
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from ..hookspecs import hookimpl
from . import ExportError, ExportJob

DEFAULT_OPSET = 18
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3
PARITY_BATCH_SIZES = (1, 3, 8)


@hookimpl
def zoo_register_exporters(register):
    register(
        "onnx",
        export_onnx,
        suffix=".onnx",
        description="ONNX (dynamo exporter, dynamic batch), kept only if onnxruntime's logits match torch's.",
    )


def export_onnx(job: ExportJob, path: Path) -> dict[str, Any]:
    import onnx
    import torch

    opset = int(job.options.get("opset") or DEFAULT_OPSET)
    model = job.model.eval()
    argument = next(iter(inspect.signature(model.forward).parameters))
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        # the exporter narrates its steps, and prints the traced graph when tracing fails
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), _quiet_torch_logs():
            program = torch.onnx.export(
                model,
                (job.example,),
                dynamo=True,
                dynamic_shapes={argument: {0: batch}},
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                external_data=False,
                optimize=True,
            )
    except Exception as exc:
        raise ExportError(
            f"torch.onnx.export failed for {job.model_name}: {_first_line(_root_cause(exc))}"
        ) from None
    proto = program.model_proto
    for key, value in {**job.metadata, "opset": str(opset)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejected the {job.model_name} graph: {_first_line(exc)}") from None
    path.write_bytes(proto.SerializeToString())

    report: dict[str, Any] = {"opset": opset, "versions": versions()}
    if job.options.get("check", True):
        parity = check_parity(
            model,
            path,
            job.input_shape,
            atol=float(job.options.get("atol") or DEFAULT_ATOL),
            rtol=float(job.options.get("rtol") or DEFAULT_RTOL),
        )
        report["parity"] = parity
        if not parity["passed"]:
            raise ExportError(f"ONNX parity check failed for {job.model_name}: {parity['reason']}", report)
    else:
        report["parity"] = {"passed": None, "reason": "not checked (--no-check)"}
    return report


def check_parity(
    model: Any,
    path: Path,
    input_shape: tuple[int, ...],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    batch_sizes: tuple[int, ...] = PARITY_BATCH_SIZES,
    threads: int | None = None,
) -> dict[str, Any]:
    """Compare onnxruntime's logits with torch's at each batch size, with one session."""
    import onnxruntime as ort
    import torch

    session = ort_session(path, threads=threads)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for batch_size in batch_sizes:
        x = torch.randn(batch_size, *input_shape, generator=generator)
        with torch.inference_mode():
            expected = model(x).float()
        got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
        diff = (got - expected).abs()
        allowed = atol + rtol * expected.abs()
        top_torch, top_ort = expected.argmax(1), got.argmax(1)
        # a different top-1 is excused when torch's logits for both classes tie within atol
        tied = (expected.gather(1, top_torch[:, None]) - expected.gather(1, top_ort[:, None])).abs().squeeze(
            1
        ) <= atol
        rows.append(
            {
                "batch_size": batch_size,
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
        reason = (
            f"at batch size {r['batch_size']} the max difference is {r['max_abs_diff']:.3g} "
            f"(allowed {atol:g} + {rtol:g} * |torch|)"
            if not r["within_tolerance"]
            else f"at batch size {r['batch_size']} onnxruntime picks a different top-1 class"
        )
    return {
        "passed": not failed,
        "reason": reason,
        "atol": atol,
        "rtol": rtol,
        "provider": session.get_providers()[0],
        "batches": rows,
        "ort_version": ort.__version__,
    }


def ort_session(path: Path, *, threads: int | None = None, providers: list[str] | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])


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


def parity_report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


@contextmanager
def _quiet_torch_logs() -> Iterator[None]:
    """torch.export logs warnings while it traces; the exporter's report says what matters."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
