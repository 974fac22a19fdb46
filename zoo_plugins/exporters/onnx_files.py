"""What the ONNX exporter and its quantizer share: the graph's metadata, onnx.checker, the
onnxruntime session they check with, and quiet third-party logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo_core import ExportError

INPUT_NAME = "input"  # the graph's one input, as the exporter names it


def add_metadata(proto: Any, metadata: dict[str, str]) -> None:
    """Set ``metadata`` in the graph's ``metadata_props``, replacing entries of the same keys."""
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key not in metadata]
    del proto.metadata_props[:]
    for key, value in [*kept, *metadata.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def checked(proto: Any, name: str) -> Any:
    """``proto`` once ``onnx.checker`` accepts it, else an ExportError."""
    import onnx

    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejected the {name} graph: {first_line(exc)}") from None
    return proto


def ort_session(path: Path, *, threads: int | None = None, providers: list[str] | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # its errors reach the caller as exceptions; no log lines besides
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` for the block: torch.export and onnxruntime's quantizer
    log advice at WARNING while they work; the export's report says what matters."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
