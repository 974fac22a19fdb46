"""The values that cross between the core and its plugins, besides recipes and weights: what a
dataset loader returns, what an exporter declares, receives and may offer for benchmarking.

Nothing here imports torch; tensors and modules appear only in annotations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .weights_info import WeightsInfo

if TYPE_CHECKING:
    import torch

Builder = Callable[..., "torch.nn.Module"]
"""``builder(*, num_classes, in_channels, **more) -> nn.Module``: a registered architecture."""


@dataclass(frozen=True)
class ImageSet:
    """A dataset held in memory: images as uint8 (N, C, H, W), labels as int64 (N,), for the
    train and test splits, and for a fixed validation split when the data have one (else the
    recipe's seeded split of the training images is used)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    val_images: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None

    def subset(self, limit: int) -> ImageSet:
        """The first ``limit`` training images and a fifth as many of the others (smoke runs)."""
        rest = max(limit // 5, 1)
        cut = {k: (v[:rest] if v is not None else None) for k, v in self.held_out().items()}
        return ImageSet(self.train_images[:limit], self.train_labels[:limit], **cut)

    def held_out(self) -> dict[str, torch.Tensor | None]:
        return {k: getattr(self, k) for k in ("test_images", "test_labels", "val_images", "val_labels")}


class Samples(Protocol):
    """A map-style dataset of one split: ``samples[i]`` is ``(image, label)``, the image a PIL
    image of any size and mode, decoded when asked for; ``labels`` gives every label without
    decoding; ``key`` identifies the content (it changes when any image changes), or is None
    for data that must never be cached."""

    labels: Sequence[int]
    key: str | None

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[Any, int]: ...


@dataclass(frozen=True)
class SampleSet:
    """A dataset read one image at a time, for data of any size and mode or too large for
    memory: a :class:`Samples` per split (``val``: a fixed validation split; ``test``: None when
    the data have none) and, for a dataset whose classes come from its data, their names."""

    train: Samples
    test: Samples | None = None
    val: Samples | None = None
    classes: tuple[str, ...] = ()


DatasetLoader = Callable[..., "ImageSet | SampleSet"]
"""``loader(*, data_dir: Path | None, download: bool) -> ImageSet | SampleSet``, or a
``ZooError`` (such as ``DatasetNotFoundError``) saying how to get the data."""

OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
OPTION_TYPES = (bool, int, float, str)
# The names `zoo export` uses for its own flags: an exporter option may not take them.
RESERVED_OPTIONS = frozenset(
    {
        "name",
        "format",
        "formats",
        "weights",
        "num_classes",
        "in_channels",
        "input_size",
        "out",
        "force",
        "json",
        "help",
    }
)


@dataclass(frozen=True)
class ExporterOption:
    """One setting an exporter takes, declared when it registers. ``zoo export`` offers it as
    ``--name`` (``--name/--no-name`` for a bool), and :func:`zoo_core.export_model` fills in the
    default when it is not given, so the exporter always receives a value of ``type``."""

    name: str
    type: type
    default: Any
    help: str
    min: float | None = None  # the smallest value allowed (int and float options)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not OPTION_NAME.match(self.name):
            raise ValueError(f"option name {self.name!r} must be lowercase letters, digits and underscores")
        if self.name in RESERVED_OPTIONS:
            raise ValueError(f"option name {self.name!r} is a flag of `zoo export` itself")
        if self.type not in OPTION_TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of bool, int, float, str")
        if self.min is not None and self.type not in (int, float):
            raise ValueError(f"option {self.name!r}: only int and float options take a min")
        if not isinstance(self.help, str) or not self.help.strip():
            raise ValueError(f"option {self.name!r}: help must say what it does")
        self.check(self.default)

    def check(self, value: Any) -> Any:
        """``value`` as this option's type, or a ValueError saying what would be right."""
        ok = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok or (self.type is float and not math.isfinite(value)):
            raise ValueError(f"option {self.name!r} must be {self.type.__name__}, got {value!r}")
        if self.min is not None and value < self.min:
            raise ValueError(f"option {self.name!r} must be at least {self.min:g}, got {value!r}")
        return value


@dataclass
class ExportJob:
    """What an exporter gets: the model in eval mode, an example batch, what its weights are,
    the metadata every exported file carries (all strings), the exporter's own options with
    defaults filled in, and ``sidecar(suffix)``: a temporary path for a companion file (a
    report, say) that is kept as ``NAME<suffix>`` only if the whole export succeeds."""

    model_name: str
    model: torch.nn.Module
    example: torch.Tensor
    weights: WeightsInfo
    metadata: dict[str, str]
    sidecar: Callable[[str], Path] = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.example.shape[1:])


Exporter = Callable[[ExportJob, Path], dict[str, Any]]
"""``exporter(job, path)`` writes the file at ``path``, checks it, and returns a JSON-able report;
on failure it raises ``ExportError``. A report's optional ``"summary"`` (a list of lines) is
what ``zoo export`` prints under the file's name."""

RuntimeOpener = Callable[..., "Callable[[torch.Tensor], Any] | None"]
"""``open(path, *, threads: int, device: str)``: a callable that runs an exported file on a batch,
or None when the runtime cannot run on that device."""


@dataclass(frozen=True)
class ExportRuntime:
    """A runtime that executes an exporter's files, declared so that ``zoo bench`` can time it
    beside torch: ``name`` heads its rows, ``open`` is a callable or a 'module:function' string."""

    name: str
    open: RuntimeOpener | str
