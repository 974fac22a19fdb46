"""Inference latency and throughput: torch eager, torch channels_last and onnxruntime on the same
model, inputs and thread count."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .errors import ZooError


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
    from .exporters import export_model
    from .exporters.onnx_format import ort_session

    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZooError("--device cuda was asked for but torch sees no CUDA GPU")
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as folder:
        (report,) = export_model(
            name,
            ["onnx"],
            Path(folder),
            weights=weights,
            num_classes=num_classes,
            in_channels=in_channels,
            input_size=input_size,
        )
        providers = ["CUDAExecutionProvider"] if dev.type == "cuda" else ["CPUExecutionProvider"]
        import onnxruntime

        session = None
        if providers[0] in onnxruntime.get_available_providers():
            session = ort_session(Path(report["path"]), threads=threads, providers=providers)
        from .registry import create_model

        model = create_model(name, num_classes=num_classes, in_channels=in_channels, weights=weights)
        model = model.eval().to(dev)
        shape = onnx_input_shape(report["path"])
        rows = []
        for batch in batch_sizes:
            x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
            for runtime, fn in _runners(model, x, dev, session):
                times = time_calls(fn, min_seconds=min_seconds) if fn else []
                rows.append(_row(runtime, batch, times))
    return {
        "model": name,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": threads,
        "input": list(shape),
        "rows": rows,
    }


def onnx_input_shape(path: str) -> tuple[int, int, int]:
    """(channels, height, width) of an exported model's input: what both runtimes are fed."""
    import onnx

    proto = onnx.load(path, load_external_data=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    return dims[1].dim_value, dims[2].dim_value, dims[3].dim_value


def _runners(
    model: torch.nn.Module, x: torch.Tensor, dev: torch.device, session: Any
) -> list[tuple[str, Any]]:
    """(runtime, call) pairs on the same input; a call of None marks a runtime not available."""
    import copy

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

    feed = {session.get_inputs()[0].name: x.numpy()} if session is not None else {}
    return [
        ("torch eager", torch_call(model, x_dev)),
        ("torch channels_last", torch_call(model_last, x_last)),
        ("onnxruntime", (lambda: session.run(None, feed)) if session is not None else None),
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
