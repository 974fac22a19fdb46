"""A run's train, validation and test splits, from whatever a dataset plugin hands over, on the
device and preprocessed as the recipe says; one function for the trainer and for evaluation.

Tensors (an :class:`ImageSet`) stay resident. Samples (a :class:`SampleSet`) are decoded once
into the decoded cache and kept resident when they fit the memory budget, and streamed by
DataLoader workers when they do not (or when the user says so); the choice is named in
``Splits.path``, which the run prints first.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..base.errors import ZooError
from ..contract.interfaces import ImageSet, Samples, SampleSet
from ..contract.recipe import Recipe
from ..host.entries import DatasetSpec
from ..runtime.distributed import Process, shard
from ..store.paths import decoded_cache
from .datasets import load_dataset, split_indices
from .device_data import BatchPrep, DeviceSplit, Split
from .samples import Picked, StreamSplit, labels_of, memory_budget, resident, resident_bytes


@dataclass
class Splits:
    """The splits of one run and the dataset as the run sees it (its classes and channels)."""

    train: Split
    val: Split
    test: Split | None
    dataset: DatasetSpec
    path: str

    def describe(self) -> str:
        """One line: the dataset, the image counts and the data path."""
        counts = f"{len(self.train):,} train / {len(self.val):,} val"
        counts += f" / {len(self.test):,} test images" if self.test is not None else " images, no test split"
        return f"data: {self.dataset.name} ({self.dataset.num_classes} classes), {counts}; {self.path}"


@dataclass(frozen=True)
class DataOptions:
    """Where the data are and how they are served (parts of a run's settings)."""

    data_dir: Path | None = None
    download: bool = True
    subset: int | None = None
    cache: bool | None = None  # None: resident when it fits the memory budget, else streaming
    workers: int | None = None  # DataLoader workers of the streaming path (default: up to 4)
    interpolation: str = "bilinear"
    crop_pct: float = 1.0  # the centre crop's share of the resized image (WeightsInfo.crop_pct)


def load_splits(
    spec: DatasetSpec,
    recipe: Recipe,
    *,
    device: torch.device,
    channels: int,
    options: DataOptions,
    channels_last: bool = False,
    process: Process | None = None,
) -> Splits:
    """The recipe's splits of ``spec``'s data: its fixed validation split, or the recipe's
    seeded share of the training images; images of varying size and mode (samples) become
    ``channels`` channels at the recipe's input size. Under torchrun (``process``), samples
    too large to keep whole but whose training share per process fits are kept as shards: each
    process holds a fixed, seeded share of the training images (validation and test stream)."""
    data = load_dataset(spec, data_dir=options.data_dir, download=options.download)
    if isinstance(data, ImageSet):
        described = spec.described(spec.classes, spec.in_channels or channels)
    else:
        described = spec.described(data.classes, channels)
    if described.num_classes < 2:
        raise ZooError(
            f"dataset {spec.name} (plugin {spec.origin}) names {described.num_classes} classes; training "
            "needs at least two: register it with classes=(...), or return a SampleSet that names them"
        )
    prep = BatchPrep(
        mean=described.mean,
        std=described.std,
        input_size=recipe.input_size,
        device=device,
        channels_last=channels_last,
    )
    if options.subset:
        data = data.subset(options.subset) if isinstance(data, ImageSet) else _subset(data, options.subset)
    path = "resident (tensors from the dataset plugin)"
    if isinstance(data, SampleSet):
        parts = [s for s in (data.train, data.val, data.test) if s is not None]
        size = resident_bytes(sum(len(s) for s in parts), channels, recipe.input_size)
        budget = memory_budget()
        keep = options.cache if options.cache is not None else size <= budget
        workers = options.workers if options.workers is not None else min(4, os.cpu_count() or 1)
        decode = {
            "channels": channels,
            "size": recipe.input_size,
            "interpolation": options.interpolation,
            "crop_pct": options.crop_pct,
        }
        process = process or Process()
        share = resident_bytes(len(data.train) // process.world_size, channels, recipe.input_size)
        if options.cache is None and not keep and process.distributed and share <= budget:
            return _sharded(data, recipe, prep, described, workers, decode, process)
        if not keep:
            return _streamed(data, recipe, prep, described, workers, decode)
        data = _decoded(data, workers, decode)
        kept = ", cached in the zoo's data cache" if os.access(decoded_cache(), os.W_OK) else ""
        path = f"resident ({size / 2**20:,.0f} MiB decoded{kept})"
    return _resident(data, recipe, prep, described, path)


def _subset(data: SampleSet, limit: int) -> SampleSet:
    rest = max(limit // 5, 1)

    def first(samples: Samples | None, n: int) -> Samples | None:
        return None if samples is None else Picked(samples, range(min(n, len(samples))))

    return dataclasses.replace(
        data, train=first(data.train, limit), val=first(data.val, rest), test=first(data.test, rest)
    )


def _decoded(data: SampleSet, workers: int, decode: dict) -> ImageSet:
    """``data`` decoded, each split as one tensor mapped from the decoded cache."""

    def both(samples: Samples | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if samples is None:
            return None, None
        return resident(samples, workers=workers, **decode), labels_of(samples)

    (train, train_labels), (test, test_labels), (val, val_labels) = map(
        both, (data.train, data.test, data.val)
    )
    return ImageSet(train, train_labels, test, test_labels, val, val_labels)


def _resident(data: ImageSet, recipe: Recipe, prep: BatchPrep, dataset: DatasetSpec, path: str) -> Splits:
    if data.val_images is not None:
        train = DeviceSplit(data.train_images, data.train_labels, prep)
        val = DeviceSplit(data.val_images, data.val_labels, prep)
    else:
        train_idx, val_idx = split_indices(len(data.train_labels), recipe)
        train = DeviceSplit(data.train_images[train_idx], data.train_labels[train_idx], prep)
        val = DeviceSplit(data.train_images[val_idx], data.train_labels[val_idx], prep)
    test = DeviceSplit(data.test_images, data.test_labels, prep) if data.test_images is not None else None
    return Splits(train, val, test, dataset, path)


def _streamed(
    data: SampleSet, recipe: Recipe, prep: BatchPrep, dataset: DatasetSpec, workers: int, decode: dict
) -> Splits:
    train, val = _train_and_val(data, recipe)

    def stream(samples: Samples) -> StreamSplit:
        return StreamSplit(samples, prep, workers=workers, **decode)

    test = stream(data.test) if data.test is not None else None
    path = f"streaming ({workers} decoding workers; --data-cache keeps it resident)"
    return Splits(stream(train), stream(val), test, dataset, path)


def _sharded(
    data: SampleSet,
    recipe: Recipe,
    prep: BatchPrep,
    dataset: DatasetSpec,
    workers: int,
    decode: dict,
    process: Process,
) -> Splits:
    """This process's fixed share of the training images resident, validation and test
    streamed (they are evaluated in shards anyway)."""
    train, val = _train_and_val(data, recipe)
    fixed = torch.randperm(len(train), generator=torch.Generator().manual_seed(recipe.seed))
    mine = Picked(train, shard(fixed, process).tolist())
    held = DeviceSplit(resident(mine, workers=workers, **decode), labels_of(mine), prep)
    held.sharded = True
    streamed = {
        name: StreamSplit(samples, prep, workers=workers, **decode) if samples is not None else None
        for name, samples in (("val", val), ("test", data.test))
    }
    path = (
        f"resident shards ({len(mine):,} training images held by each of {process.world_size} processes, "
        "a fixed share; validation and test streaming)"
    )
    return Splits(held, streamed["val"], streamed["test"], dataset, path)


def _train_and_val(data: SampleSet, recipe: Recipe) -> tuple[Samples, Samples]:
    """The training and validation samples: the data's own validation split, else the recipe's
    seeded share of the training images."""
    if data.val is not None:
        return data.train, data.val
    train_idx, val_idx = split_indices(len(data.train), recipe)
    return Picked(data.train, train_idx.tolist()), Picked(data.train, val_idx.tolist())
