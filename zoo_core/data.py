"""Datasets as plugins register them: a loader plus the facts a trainer needs (classes, image
size, normalisation). Loading returns whole splits as uint8 tensors; nothing here imports torch
until a dataset is loaded."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PluginError, ZooError

if TYPE_CHECKING:
    import torch

    from .registry import PluginOrigin

DATA_DIR_ENV = "ZOO_DATA_DIR"


@dataclass(frozen=True)
class ImageSet:
    """A dataset's train and test splits: images as uint8 (N, C, H, W), labels as int64 (N,)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def subset(self, limit: int) -> ImageSet:
        """The first ``limit`` training images and a fifth as many test images (smoke runs)."""
        test = max(limit // 5, 1)
        return ImageSet(
            self.train_images[:limit],
            self.train_labels[:limit],
            self.test_images[:test],
            self.test_labels[:test],
        )


Loader = Callable[..., ImageSet]


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset. ``loader(data_dir=Path | None, download=bool)`` returns an
    :class:`ImageSet` or raises ``ZooError`` saying how to get the data."""

    name: str
    loader: Loader | str
    classes: tuple[str, ...]
    in_channels: int
    image_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    description: str
    origin: PluginOrigin
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def load(self, *, data_dir: Path | None = None, download: bool = True) -> ImageSet:
        """Load both splits, looking in ``data_dir`` (or ``$ZOO_DATA_DIR``) first."""
        if data_dir is None and os.environ.get(DATA_DIR_ENV):
            data_dir = Path(os.environ[DATA_DIR_ENV])
        loader = self.loader
        if isinstance(loader, str):
            from .registry import import_object

            loader = import_object(loader, f"dataset {self.name!r} from plugin {self.origin}")
        data = loader(data_dir=data_dir, download=download)
        if not isinstance(data, ImageSet):
            raise PluginError(
                f"dataset {self.name!r} from plugin {self.origin}: loader must return an ImageSet"
            )
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "classes": list(self.classes),
            "in_channels": self.in_channels,
            "image_size": list(self.image_size),
            "mean": list(self.mean),
            "std": list(self.std),
            "description": self.description,
            "plugin": self.origin.plugin,
        }


def dataset_registrar(origin: PluginOrigin, staged: list[DatasetSpec]) -> Callable[..., None]:
    """The ``register`` callback handed to one plugin's ``zoo_register_datasets``."""

    def register(
        name: str,
        loader: Loader | str,
        *,
        classes: tuple[str, ...] | list[str],
        in_channels: int,
        image_size: tuple[int, int],
        mean: tuple[float, ...] | list[float],
        std: tuple[float, ...] | list[float],
        description: str,
    ) -> None:
        def fail(what: str) -> None:
            raise PluginError(f"plugin {origin} registered dataset {name!r}: {what}")

        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]*$", name):
            fail("a dataset name must be lowercase letters, digits and underscores")
        if not callable(loader) and not (isinstance(loader, str) and ":" in loader):
            fail("loader must be a callable or a 'module:function' string")
        if len(classes) < 2 or not all(isinstance(c, str) for c in classes):
            fail("classes must name at least two classes")
        if len(mean) != in_channels or len(std) != in_channels or any(s <= 0 for s in std):
            fail("mean and std need one value per channel, std > 0")
        staged.append(
            DatasetSpec(
                name=name,
                loader=loader,
                classes=tuple(classes),
                in_channels=in_channels,
                image_size=tuple(image_size),  # type: ignore[arg-type]
                mean=tuple(float(m) for m in mean),
                std=tuple(float(s) for s in std),
                description=description,
                origin=origin,
            )
        )

    return register


def get_dataset(name: str) -> DatasetSpec:
    """The dataset registered as ``name`` (a recipe's ``dataset`` field)."""
    from .plugins import get_host

    return get_host().datasets.get(name)


def user_cache_dir() -> Path:
    """Where downloaded or unpacked datasets are kept: ``$XDG_CACHE_HOME/zoo/data``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zoo" / "data"


class DatasetNotFoundError(ZooError):
    """No copy of a dataset anywhere the loader looked, and no download."""
