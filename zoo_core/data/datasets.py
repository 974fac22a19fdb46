"""Datasets as services see them: look one up by the name a recipe gives, load its splits from
where the user keeps data, and split the training images as the recipe says.

Nothing here imports torch until a split is made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import PluginError, ZooError
from ..contract.interfaces import ImageSet, SampleSet
from ..contract.recipe import Recipe
from ..host.entries import DatasetSpec
from ..host.plugins import dataset_registry
from ..store.paths import data_cache

if TYPE_CHECKING:
    import torch

DATA_DIR_ENV = "ZOO_DATA_DIR"


def list_datasets() -> list[str]:
    """Every registered dataset name, sorted."""
    return dataset_registry().names()


def get_dataset(name: str) -> DatasetSpec:
    """The dataset registered as ``name`` (a recipe's ``dataset`` field)."""
    return dataset_registry().get(name)


def folder_dataset() -> str:
    """The dataset that reads a user's own folder (``--data PATH``): the one whose plugin
    registered it with ``reads_folder=True``."""
    found = [spec for spec in dataset_registry() if spec.reads_folder]
    if len(found) != 1:
        claims = ", ".join(f"{s.name} (plugin {s.origin})" for s in found) or "none"
        raise ZooError(f"--data needs exactly one dataset plugin that reads folders; registered: {claims}")
    return found[0].name


def load_dataset(
    spec: DatasetSpec, *, data_dir: Path | None = None, download: bool = True
) -> ImageSet | SampleSet:
    """``spec``'s data, its loader looking in ``data_dir`` (or ``$ZOO_DATA_DIR``) first."""
    if data_dir is None and os.environ.get(DATA_DIR_ENV):
        data_dir = Path(os.environ[DATA_DIR_ENV])
    data = spec.load_loader()(data_dir=data_dir, download=download)
    if not isinstance(data, ImageSet | SampleSet):
        raise PluginError(
            f"dataset {spec.name!r} from plugin {spec.origin}: loader must return an ImageSet or a SampleSet"
        )
    return data


def split_indices(n: int, recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor]:
    """The recipe's seeded train/validation split of ``n`` training images, as index tensors."""
    import torch  # the data is loaded, so torch is loaded already

    order = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.seed))
    n_val = int(n * recipe.val_fraction)
    return order[n_val:], order[:n_val]


def user_cache_dir() -> Path:
    """Where downloaded or unpacked datasets, and what plugins derive from them (a folder's
    decoded images, a teacher's logits), are kept: ``data/`` in the zoo's cache folder."""
    return data_cache()
