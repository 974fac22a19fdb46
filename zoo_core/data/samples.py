"""Datasets read one image at a time (a :class:`~zoo_core.contract.interfaces.SampleSet`) made ready for
training, by one of two paths:

- *resident*: every image decoded once, at the run's input size and channels, into a uint8
  array cached on disk and mapped into memory; later runs map the cache and decode nothing;
- *streaming*: DataLoader workers decode each batch as it is needed, for data larger than the
  memory budget.

Both decode with :func:`decode`, so the two paths feed the model the same pixels.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..base.atomic import hash_disagrees, hashed_file
from ..base.errors import ZooError
from ..contract.interfaces import Samples
from ..contract.weights_info import IMAGE_MODES, convert_image, fit_image
from ..store.paths import decoded_cache
from .device_data import Augment, BatchPrep, Split

MEMORY_FRACTION = 0.5  # of the memory available now, that a resident split set may take
DECODE_BATCH = 256


def decode(
    image: Any, *, channels: int, size: tuple[int, int], interpolation: str, crop_pct: float = 1.0
) -> np.ndarray:
    """``image`` (PIL, any mode and size) as uint8 (channels, height, width): upright, converted,
    resized and centre-cropped as ``WeightsInfo.transforms()`` does it."""
    image = convert_image(image, mode=IMAGE_MODES[channels])
    image = fit_image(image, size=size, crop_pct=crop_pct, interpolation=interpolation)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


class Picked:
    """The samples at ``indices`` of ``samples`` (a split of a split), labels known up front."""

    def __init__(self, samples: Samples, indices: Sequence[int]) -> None:
        self.samples, self.indices = samples, list(indices)
        self.labels = [samples.labels[i] for i in self.indices]
        key = samples.key
        digest = hashlib.sha256(np.asarray(self.indices, dtype=np.int64).tobytes()).hexdigest()
        self.key = f"{key}[{digest}]" if key is not None else None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.samples[self.indices[index]]


class Decoded(Dataset):
    """``samples`` decoded for the model; an image that fails comes back as its error, so that
    a worker's failure reaches the user as one line, not a worker traceback."""

    def __init__(
        self,
        samples: Samples,
        *,
        channels: int,
        size: tuple[int, int],
        interpolation: str,
        crop_pct: float = 1.0,
    ) -> None:
        self.samples, self.channels, self.size = samples, channels, size
        self.interpolation, self.crop_pct = interpolation, crop_pct

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray | None, int, str | None]:
        try:
            image, label = self.samples[index]
            pixels = decode(
                image,
                channels=self.channels,
                size=self.size,
                interpolation=self.interpolation,
                crop_pct=self.crop_pct,
            )
        except Exception as exc:  # one bad file among thousands: name it and stop cleanly
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return None, -1, message
        return pixels, label, None


def _collate(items: list[tuple[np.ndarray | None, int, str | None]]) -> tuple[Any, Any, str | None]:
    errors = [error for _, _, error in items if error]
    if errors:
        return None, None, errors[0]
    images = torch.from_numpy(np.stack([pixels for pixels, _, _ in items]))
    return images, torch.tensor([label for _, label, _ in items], dtype=torch.long), None


def _loader(decoded: Decoded, batches: Sequence[Sequence[int]], workers: int, pin: bool) -> DataLoader:
    return DataLoader(
        decoded,
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=pin,
        generator=torch.Generator(),  # its own worker seeds: the global stream (dropout) is untouched
        multiprocessing_context="fork" if workers and os.name == "posix" else None,
    )


def _checked(batches: Iterator[tuple[Any, Any, str | None]]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for images, labels, error in batches:
        if error:
            raise ZooError(f"cannot decode an image: {error}; remove or replace that file")
        yield images, labels


def decode_all(
    samples: Samples,
    out: np.ndarray,
    *,
    channels: int,
    size: tuple[int, int],
    interpolation: str,
    crop_pct: float,
    workers: int,
) -> None:
    """Decode every sample into ``out`` (N, C, H, W), in order."""
    decoded = Decoded(samples, channels=channels, size=size, interpolation=interpolation, crop_pct=crop_pct)
    order = list(range(len(samples)))
    batches = [order[i : i + DECODE_BATCH] for i in range(0, len(order), DECODE_BATCH)]
    start = 0
    for images, _ in _checked(iter(_loader(decoded, batches, workers, pin=False))):
        out[start : start + len(images)] = images.numpy()
        start += len(images)


def resident(
    samples: Samples,
    *,
    channels: int,
    size: tuple[int, int],
    interpolation: str,
    workers: int,
    crop_pct: float = 1.0,
    cache: bool = True,
) -> torch.Tensor:
    """Every image of ``samples`` as one uint8 tensor (N, C, H, W): mapped from the decoded
    cache when it holds them (keyed by the samples' ``key``, the size, channels, interpolation
    and crop), else decoded now and, when ``cache``, written there first."""
    shape = (len(samples), channels, *size)
    decoding = {
        "channels": channels,
        "size": size,
        "interpolation": interpolation,
        "crop_pct": crop_pct,
        "workers": workers,
    }
    if not cache or samples.key is None:
        array = np.empty(shape, dtype=np.uint8)
        decode_all(samples, array, **decoding)
        return torch.from_numpy(array)
    # "fit": images keep their aspect ratio (zoo 0.3 squashed them; its entries are not these)
    facts = f"{samples.key}|{channels}|{size}|{interpolation}|fit {crop_pct}"
    name = hashlib.sha256(facts.encode()).hexdigest()[:40]
    path = decoded_cache() / f"{name}.npy"
    array = _from_cache(path, shape)
    if array is None:
        try:
            _write_cache(path, samples, shape, **decoding)
        except OSError as exc:  # a read-only or full cache: this run decodes into memory instead
            reason = exc.strerror or str(exc)
            warnings.warn(f"cannot keep decoded images in {path.parent} ({reason}); not cached", stacklevel=2)
            return resident(samples, **decoding, cache=False)
        array = np.load(path, mmap_mode="c")  # copy-on-write: writable for torch, the file stays as it is
    return torch.from_numpy(array)


def _write_cache(path: Path, samples: Samples, shape: tuple[int, ...], **decoding: Any) -> None:
    """Decode ``samples`` into the cache file ``path``, kept with its sha256. The file's blocks
    are reserved first, so a full disk is an ``OSError`` now rather than a SIGBUS mid-decode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with hashed_file(path) as temporary:
        array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
        if hasattr(os, "posix_fallocate"):
            with open(temporary, "r+b") as handle:
                os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        decode_all(samples, array, **decoding)
        array.flush()
        del array


def _from_cache(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The decoded images kept at ``path``, or ``None`` when there are none or they fail their
    check (truncated, replaced, another shape or type): then they are decoded again."""
    if not path.is_file():
        return None
    reason = hash_disagrees(path)
    if reason is None:
        try:
            array = np.load(path, mmap_mode="c")  # never unpickles: allow_pickle is off
        except (OSError, ValueError) as exc:
            reason = f"it is not a plain array ({exc})"
        else:
            if array.shape == shape and array.dtype == np.uint8:
                return array
            reason = f"it holds {array.dtype} {array.shape}, not uint8 {shape}"
    warnings.warn(
        f"the decoded images in {path} fail their check ({reason}); decoding them again", stacklevel=3
    )
    return None


def labels_of(samples: Samples) -> torch.Tensor:
    """Every label of ``samples`` as an int64 tensor, without decoding an image."""
    return torch.tensor(list(samples.labels), dtype=torch.long)


def resident_bytes(count: int, channels: int, size: tuple[int, int]) -> int:
    return count * channels * size[0] * size[1]


BUDGET_ENV = "ZOO_MEMORY_BUDGET"


def memory_budget() -> int:
    """The bytes a resident dataset may take: ``$ZOO_MEMORY_BUDGET`` (in MiB) when set, else a
    fraction of the memory available now."""
    if os.environ.get(BUDGET_ENV):
        try:
            return int(float(os.environ[BUDGET_ENV]) * 2**20)
        except ValueError:
            raise ZooError(f"${BUDGET_ENV} must be a number of MiB, got {os.environ[BUDGET_ENV]!r}") from None
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        available = next(int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):  # not Linux
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 4 << 30
    return int(available * MEMORY_FRACTION)


class StreamSplit(Split):
    """A split decoded batch by batch by DataLoader workers, served like a ``DeviceSplit``."""

    def __init__(
        self,
        samples: Samples,
        prep: BatchPrep,
        *,
        channels: int,
        size: tuple[int, int],
        interpolation: str,
        crop_pct: float,
        workers: int,
    ) -> None:
        self.decoded = Decoded(
            samples, channels=channels, size=size, interpolation=interpolation, crop_pct=crop_pct
        )
        self.labels = labels_of(samples)
        self.prep, self.device, self.workers = prep, prep.device, workers

    def _serve(
        self, chunks: list[torch.Tensor], augment: Sequence[Augment], generator: torch.Generator | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        batches = [chunk.tolist() for chunk in chunks]
        loader = _loader(self.decoded, batches, self.workers, pin=self.device.type == "cuda")
        for images, labels in _checked(iter(loader)):
            images, labels = (
                images.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
            )
            yield self.prep(images, labels, augment, generator)

    def pixels(self, indices: Sequence[int]) -> torch.Tensor:
        # copied: a decoded image is a read-only view of PIL's pixels
        return torch.stack([torch.from_numpy(self.decoded[i][0].copy()) for i in indices])
