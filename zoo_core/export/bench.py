"""Inference latency and throughput: torch eager, torch channels_last, and the runtime of every
export format that declares one (onnxruntime for ONNX, and its int8 and fp16 files when asked
for), on the same model, inputs and threads.

Every runtime is timed the same way: a few warm-up calls, then ``torch.utils.benchmark``'s
blocked autorange (blocks of calls long enough that the timer's overhead vanishes) for at least
``min_seconds`` and ``MIN_BLOCKS`` blocks; latency is the median and the 90th percentile of the
blocks' time per call.
"""

from __future__ import annotations

import copy
import logging
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..base.errors import ZooError
from ..host.plugins import exporter_registry
from ..models.factory import create_model
from ..runtime.devices import cpu_description
from .driver import export_model, exporter_options, input_shape

if TYPE_CHECKING:
    from torch.utils.benchmark import Timer

WARMUP_CALLS = 2
MIN_BLOCKS = 7
EAGER = "torch eager"


def time_calls(fn: Callable[[], Any], *, threads: int, min_seconds: float) -> list[float]:
    """Seconds per call of ``fn``, one figure per block of calls."""
    for _ in range(WARMUP_CALLS):
        fn()
    timer = _timer_class()(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    measurement = timer.blocked_autorange(min_run_time=min_seconds)
    times = list(measurement.times)
    while len(times) < MIN_BLOCKS:  # slow calls: a few more blocks, so that p90 means something
        times += timer.timeit(measurement.number_per_run).times
    return times


def _timer_class() -> type[Timer]:
    """``torch.utils.benchmark.Timer``, imported without the warning its import logs on a
    machine that has a CUDA_HOME but no GPU."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        from torch.utils.benchmark import Timer  # its import logs; quieted above
    finally:
        logger.setLevel(level)
    return Timer


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
    min_seconds: float = 1.0,
    variants: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """One row per runtime and batch size: p50/p90 latency (ms), their ratio, images per second
    and the speed-up over torch eager; ``variants`` (an exporter option declared with
    ``bench=True``, and its values) adds a row for each value, for every format that takes the
    option."""
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
            variants=variants or {},
            export_args=dict(
                weights=weights, num_classes=num_classes, in_channels=in_channels, input_size=input_size
            ),
        )
        rows = []
        for batch in batch_sizes:
            x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
            for runtime, fn, note in _runners(model, x, dev, runtimes):
                times = time_calls(fn, threads=threads, min_seconds=min_seconds) if fn else []
                rows.append(_row(runtime, batch, times, note))
    _speedups(rows)
    return {
        "model": name,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "machine": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_description(),
        "threads": threads,
        "input": list(shape),
        "rows": rows,
    }


Runtime = tuple[str, Callable[[torch.Tensor], Any] | None, str]
"""A runtime's row name, its call on a batch (None: not available), and why not."""


def _exported_runtimes(
    name: str,
    folder: Path,
    *,
    threads: int,
    device: str,
    variants: Mapping[str, Sequence[str]],
    export_args: dict[str, Any],
) -> list[Runtime]:
    """Export the model to every format that has a runtime (and, for each format that takes an
    option of ``variants``, to each of its values); return each file's runtime."""
    formats = [spec for spec in exporter_registry() if spec.runtime is not None]
    reports = export_model(name, [spec.name for spec in formats], folder, **export_args)
    runtimes: list[Runtime] = []
    for spec, report in zip(formats, reports, strict=True):
        opener = spec.load_runtime()
        runtimes.append((spec.runtime.name, opener(Path(report["path"]), threads=threads, device=device), ""))
        taken = exporter_options([spec.name])
        for option, value in ((o, v) for o, values in variants.items() if o in taken for v in values):
            label = f"{spec.runtime.name} {value}"
            try:
                (variant,) = export_model(
                    name, [spec.name], folder, **export_args, options={option: value}, speed_only=True
                )
            except ZooError as exc:
                runtimes.append((label, None, str(exc)))
                continue
            runtimes.append((label, opener(Path(variant["path"]), threads=threads, device=device), ""))
    return runtimes


def _runners(
    model: torch.nn.Module, x: torch.Tensor, dev: torch.device, runtimes: list[Runtime]
) -> list[tuple[str, Callable[[], None] | None, str]]:
    """(row name, call, note) on the same input; a call of None marks a runtime not available."""
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
        (EAGER, torch_call(model, x_dev), ""),
        ("torch channels_last", torch_call(model_last, x_last), ""),
        *((label, exported_call(run) if run is not None else None, note) for label, run, note in runtimes),
    ]


def _row(runtime: str, batch: int, times: list[float], note: str) -> dict[str, Any]:
    if not times:
        return {
            "runtime": runtime,
            "batch": batch,
            "p50_ms": None,
            "p90_ms": None,
            "spread": None,
            "images_per_s": None,
            "note": note or "not available on this device",
        }
    times_ms = sorted(t * 1000 for t in times)
    p50 = statistics.median(times_ms)
    p90 = times_ms[min(len(times_ms) - 1, round(0.9 * (len(times_ms) - 1)))]
    return {
        "runtime": runtime,
        "batch": batch,
        "p50_ms": p50,
        "p90_ms": p90,
        "spread": p90 / p50,
        "images_per_s": batch / (p50 / 1000),
        "blocks": len(times),
    }


def _speedups(rows: list[dict[str, Any]]) -> None:
    """Each row's throughput as a multiple of torch eager's at the same batch size."""
    eager = {r["batch"]: r["images_per_s"] for r in rows if r["runtime"] == EAGER}
    for row in rows:
        base = eager.get(row["batch"])
        row["vs_eager"] = row["images_per_s"] / base if row["images_per_s"] and base else None
