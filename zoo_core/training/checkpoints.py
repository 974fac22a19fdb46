"""Checkpoint I/O: a run's full training state copied off the device and written atomically on
a background thread, and read back without unpickling anything but tensors and plain data."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from ..base.atomic import atomic_path
from ..base.errors import ZooError


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Serialise in memory first, so a full disk is an ``OSError`` naming ``path`` rather than
    torch's opaque "unexpected pos" from its zip writer."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint`, read without unpickling code; a damaged
    or foreign file is one ``ZooError`` (never torch's advice to turn ``weights_only`` off)."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a damaged file fails in many ways inside torch's reader
        text = str(exc).strip()
        reason = text.splitlines()[0].split(". ")[0] if text and not isinstance(exc, KeyError) else ""
        reason = reason or f"{type(exc).__name__} while reading it"
        if "weights_only" in reason.lower().replace(" ", "_") or "Unsupported" in reason:
            reason = "it holds objects other than tensors and plain data"
        raise ZooError(
            f"{path} is not a readable checkpoint ({reason}); it was damaged or not written by "
            "`zoo train`: start a new run, or keep its best.safetensors"
        ) from None
    if not isinstance(state, dict) or not {"model", "trainer", "history"} <= set(state):
        raise ZooError(f"{path} is not a `zoo train` checkpoint; start a new run")
    return state


def to_cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor copied to the CPU, safe to write on
    another thread while training changes the originals."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: to_cpu(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(to_cpu(v) for v in state)
    return state


class FileWriter:
    """Writes a run's files on one background thread, one epoch's batch at a time, so training
    continues while a checkpoint goes to disk; each write is atomic, so a kill loses at most
    the epoch in flight. A failed write surfaces at the next ``submit`` or at ``wait``."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-writer")
        self._pending: list[Future] = []

    def submit(self, jobs: list[tuple[Callable[..., Any], ...]]) -> None:
        """Queue ``(function, *arguments)`` jobs once the previous batch is written."""
        self.wait()
        self._pending = [self._pool.submit(fn, *args) for fn, *args in jobs]

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self.wait()
            else:  # the run already failed: finish what is in flight, keep the first error
                with contextlib.suppress(Exception):
                    self.wait()
        finally:
            self._pool.shutdown(wait=True)
