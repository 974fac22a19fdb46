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

WeightsFetcher = Callable[[WeightsInfo], "dict[str, torch.Tensor]"]
"""``fetch(info) -> state_dict``: the tensors of a plugin's weights entry that its own library
downloads and caches (see ``RegisterModel``)."""


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
FLAG_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
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
        "data",
        "data_dir",
    }
)


@dataclass(frozen=True)
class Option:
    """One setting a plugin part takes, declared when it registers, so that the core checks a
    value before the part sees it and fills in the default when none is given. Training parts
    read theirs from a recipe's ``options``; exporters get theirs as ``zoo export`` flags."""

    name: str
    type: type
    default: Any
    help: str
    min: float | None = None  # the smallest value allowed (int and float options)
    choices: tuple[str, ...] = ()  # the values allowed (str options); empty: any
    max: float | None = None  # the largest value allowed (int and float options)
    # what else a value must be: raises ValueError saying what would be right (not run on the default)
    validate: Callable[[Any], None] | None = field(default=None, compare=False)
    # a training part's `zoo train --FLAG` shorthand: sets this option and picks the part
    flag: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not OPTION_NAME.match(self.name):
            raise ValueError(f"option name {self.name!r} must be lowercase letters, digits and underscores")
        if self.type not in OPTION_TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of bool, int, float, str")
        if (self.min is not None or self.max is not None) and self.type not in (int, float):
            raise ValueError(f"option {self.name!r}: only int and float options take a min or max")
        if not isinstance(self.help, str) or not self.help.strip():
            raise ValueError(f"option {self.name!r}: help must say what it does")
        if self.choices and (self.type is not str or not all(isinstance(c, str) for c in self.choices)):
            raise ValueError(f"option {self.name!r}: only str options take choices, and they are strings")
        if self.flag is not None and (not isinstance(self.flag, str) or not FLAG_NAME.match(self.flag)):
            raise ValueError(
                f"option {self.name!r}: flag must be lowercase words joined by '-', got {self.flag!r}"
            )
        self._check_type(self.default)

    def check(self, value: Any) -> Any:
        """``value`` as this option's type, or a ValueError saying what would be right."""
        value = self._check_type(value)
        if self.validate is not None:
            self.validate(value)
        return value

    def _check_type(self, value: Any) -> Any:
        ok = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ValueError(f"option {self.name!r} must be {self.type.__name__}, got {value!r}")
        if self.type is float and not math.isfinite(value):
            raise ValueError(f"option {self.name!r} must be a finite number, got {value!r}")
        if self.min is not None and value < self.min:
            raise ValueError(f"option {self.name!r} must be at least {self.min:g}, got {value!r}")
        if self.max is not None and value > self.max:
            raise ValueError(f"option {self.name!r} must be at most {self.max:g}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"option {self.name!r} must be one of {', '.join(self.choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class ExporterOption(Option):
    """An exporter's setting: ``zoo export`` offers it as ``--name`` (``--name/--no-name`` for a
    bool), and :func:`zoo_core.export_model` fills in the default when it is not given."""

    in_file_name: bool = False  # a value other than the default names the file: NAME.VALUE.SUFFIX
    # `zoo bench --NAME A,B` times one more file per value (a str option with choices)
    bench: bool = False

    def __post_init__(self) -> None:
        if self.name in RESERVED_OPTIONS:
            raise ValueError(f"option name {self.name!r} is a flag of `zoo export` itself")
        super().__post_init__()
        if self.in_file_name and (self.type is not str or not self.choices):
            raise ValueError(f"option {self.name!r}: only a str option with choices may name the file")
        if self.flag is not None:
            raise ValueError(f"option {self.name!r}: an exporter's options are `zoo export` flags already")
        if self.bench and (self.type is not str or not self.choices):
            raise ValueError(f"option {self.name!r}: only a str option with choices may add `zoo bench` rows")
        if self.in_file_name and not all(OPTION_NAME.match(c) for c in self.choices):
            raise ValueError(f"option {self.name!r}: choices that name files must be lowercase words")


class ExportData(Protocol):
    """The images of the model's dataset, for exporters that calibrate or check accuracy,
    preprocessed as the weights were trained and loaded on first use. Each method raises a
    ``ZooError`` saying how to get the data when they are not on this machine
    (``DatasetNotFoundError`` when no copy is anywhere)."""

    def describe(self) -> str:
        """The dataset, and where it was read from when that was given."""
        ...

    def calibration(self, count: int, *, seed: int = 0) -> torch.Tensor:
        """``count`` training images (all, when there are fewer) picked with ``seed``, as float
        model input."""
        ...

    def compare(self, model: torch.nn.Module, run: Callable[[torch.Tensor], Any]) -> dict[str, Any]:
        """Top-1 of ``model`` and of ``run`` (an exported file's runtime, returning logits) on
        the held-out split: ``torch_accuracy``, ``exported_accuracy``, ``drop_points``,
        ``agreement``, ``images`` and ``data`` (which split of what)."""
        ...


@dataclass
class ExportJob:
    """What an exporter gets: the model in eval mode, an example batch, what its weights are,
    the metadata every exported file carries (all strings), the exporter's own options with
    defaults filled in, ``sidecar(suffix)``: a temporary path for a companion file (a report,
    say) that is kept as ``NAME<suffix>`` only if the whole export succeeds, ``data``: the
    model's dataset, loaded when first asked for, to calibrate on and check accuracy with, and
    ``speed_only``: the file is made for ``zoo bench`` to time and then deleted, so checks that
    only measure accuracy may be skipped."""

    model_name: str
    model: torch.nn.Module
    example: torch.Tensor
    weights: WeightsInfo
    metadata: dict[str, str]
    sidecar: Callable[[str], Path] = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    data: ExportData | None = None
    speed_only: bool = False

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
