"""zoo: a plugin-based PyTorch model zoo.

This package is the public face of the core: everything the README and plugins use is
importable from ``zoo_core`` itself. Importing it does not import torch: listing and describing
models stays fast, and torch is loaded only when a model is built. Training and evaluation,
which need torch, live in ``zoo_core.training`` and ``zoo_core.training.evaluation``.
"""

from .base.atomic import atomic_files, atomic_path, hash_disagrees, hashed_file, write_bytes, write_json
from .base.errors import (
    BuilderArgumentError,
    DatasetNotFoundError,
    ExportError,
    PluginError,
    PluginWarning,
    UnknownModelError,
    WeightsError,
    ZooError,
)
from .base.progress import batches_in, progress
from .base.tables import format_table
from .base.version import PLUGIN_API, __version__
from .contract.hookspecs import hookimpl
from .contract.interfaces import (
    ExportData,
    ExporterOption,
    ExportJob,
    ExportRuntime,
    ImageSet,
    Option,
    Samples,
    SampleSet,
)
from .contract.recipe import Recipe, RecipeError
from .contract.run import Run
from .contract.weights_info import WeightsInfo
from .data.datasets import get_dataset, list_datasets, user_cache_dir
from .export.driver import export_model, exporter_names
from .host.entries import DatasetSpec, ExporterSpec, ModelSpec
from .models.catalogue import get_model_spec, get_recipe, list_models
from .models.factory import create_model
from .models.pretrained import get_weights
from .store.manifest import manifest_weights, read_manifest, write_manifest
from .store.weights import load_weights, save_weights


def __getattr__(name: str) -> object:
    """``SequentialNet``, the named-parts container plugins build on, and ``TrainingSession``
    and ``TrainingEpoch``, what a trainer plugin drives, imported when first asked for: they need torch, which
    importing ``zoo_core`` must not load."""
    if name == "SequentialNet":
        from .models.named_parts import SequentialNet  # imports torch

        return SequentialNet
    if name in ("TrainingSession", "TrainingEpoch"):
        from . import training  # imports torch

        return getattr(training, name)
    raise AttributeError(f"module 'zoo_core' has no attribute {name!r}")


__all__ = [
    "PLUGIN_API",
    "BuilderArgumentError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "ExportData",
    "ExportError",
    "ExportJob",
    "ExportRuntime",
    "ExporterOption",
    "ExporterSpec",
    "ImageSet",
    "ModelSpec",
    "Option",
    "PluginError",
    "PluginWarning",
    "Recipe",
    "RecipeError",
    "Run",
    "SampleSet",
    "Samples",
    "SequentialNet",
    "TrainingEpoch",
    "TrainingSession",
    "UnknownModelError",
    "WeightsError",
    "WeightsInfo",
    "ZooError",
    "__version__",
    "atomic_files",
    "atomic_path",
    "batches_in",
    "create_model",
    "export_model",
    "exporter_names",
    "format_table",
    "get_dataset",
    "get_model_spec",
    "get_recipe",
    "get_weights",
    "hash_disagrees",
    "hashed_file",
    "hookimpl",
    "list_datasets",
    "list_models",
    "load_weights",
    "manifest_weights",
    "progress",
    "read_manifest",
    "save_weights",
    "user_cache_dir",
    "write_bytes",
    "write_json",
    "write_manifest",
]
