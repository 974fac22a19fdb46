"""Inference latency and throughput: torch eager, torch channels_last, and the runtime of every
export format that declares one (onnxruntime for ONNX), on the same model, inputs and threads."""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .errors import ZooError
from .export import export_model, input_shape
from .models import create_model
from .plugins import exporter_registry


def time_calls(
    fn: Callable[[], Any], *, warmup: int = 3, min_runs: int = 10, min_seconds: float = 0.5
) -> list[float]:
    """Seconds per call of ``fn``, after ``warmup`` calls, until both minimums are met."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return times


def benchmark(
    name: str,
    *,
    batch_sizes: list[int],
    threads: int | None = None,
    device: str = "cpu",
    num_classes: int | None = None,
    in_channels: int | None = None,
    input_size: tuple[int, int] | None = None,
    weights: str | None = None,
    min_seconds: float = 0.5,
) -> dict[str, Any]:
    """One row per runtime and batch size: p50/p90 latency (ms) and images per second."""
    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZooError("--device cuda was asked for but torch sees no CUDA GPU")
    model = (
        create_model(name, num_classes=num_classes, in_channels=in_channels, weights=weights).eval().to(dev)
    )
    shape = input_shape(name, model, in_channels=in_channels, input_size=input_size)
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as folder:
        runtimes = _exported_runtimes(
            name,
            Path(folder),
            threads=threads,
            device=device,
            export_args=dict(
                weights=weights, num_classes=num_classes, in_channels=in_channels, input_size=input_size
            ),
        )
        rows = []
        for batch in batch_sizes:
            x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
            for runtime, fn in _runners(model, x, dev, runtimes):
                times = time_calls(fn, min_seconds=min_seconds) if fn else []
                rows.append(_row(runtime, batch, times))
    return {
        "model": name,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": threads,
        "input": list(shape),
        "rows": rows,
    }


def _exported_runtimes(
    name: str, folder: Path, *, threads: int, device: str, export_args: dict[str, Any]
) -> list[tuple[str, Callable[[torch.Tensor], Any] | None]]:
    """Export the model to every format that has a runtime; return each runtime's name and its
    call on a batch (None where it cannot run on ``device``)."""
    formats = [spec for spec in exporter_registry() if spec.runtime is not None]
    reports = export_model(name, [spec.name for spec in formats], folder, **export_args)
    return [
        (spec.runtime.name, spec.load_runtime()(Path(report["path"]), threads=threads, device=device))
        for spec, report in zip(formats, reports, strict=True)
    ]


def _runners(
    model: torch.nn.Module, x: torch.Tensor, dev: torch.device, runtimes: list[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    """(runtime, call) pairs on the same input; a call of None marks a runtime not available."""
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    x_dev = x.to(dev)
    x_last = x_dev.contiguous(memory_format=torch.channels_last)
    model_last = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def torch_call(net: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], None]:
        def call() -> None:
            with torch.inference_mode():
                net(inputs)
            sync()

        return call

    def exported_call(run: Callable[[torch.Tensor], Any]) -> Callable[[], None]:
        return lambda: run(x)

    return [
        ("torch eager", torch_call(model, x_dev)),
        ("torch channels_last", torch_call(model_last, x_last)),
        *((runtime, exported_call(run) if run is not None else None) for runtime, run in runtimes),
    ]


def _row(runtime: str, batch: int, times: list[float]) -> dict[str, Any]:
    if not times:
        return {
            "runtime": runtime,
            "batch": batch,
            "p50_ms": None,
            "p90_ms": None,
            "images_per_s": None,
            "note": "not available on this device",
        }
    times_ms = sorted(t * 1000 for t in times)
    p50 = statistics.median(times_ms)
    p90 = times_ms[min(len(times_ms) - 1, int(0.9 * len(times_ms)))]
    return {
        "runtime": runtime,
        "batch": batch,
        "p50_ms": p50,
        "p90_ms": p90,
        "images_per_s": batch / (p50 / 1000),
        "runs": len(times),
    }
