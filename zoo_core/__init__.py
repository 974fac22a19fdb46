"""zoo: a plugin-based PyTorch model zoo.

This package is the public face of the core: everything the README and plugins use is
importable from ``zoo_core`` itself. Importing it does not import torch: listing and describing
models stays fast, and torch is loaded only when a model is built. Training and evaluation,
which need torch, live in ``zoo_core.training`` and ``zoo_core.evaluation``.
"""

from .atomic import atomic_files, atomic_path, write_bytes, write_json
from .data import get_dataset, list_datasets, user_cache_dir
from .entries import DatasetSpec, ExporterSpec, ModelSpec
from .errors import (
    BuilderArgumentError,
    DatasetNotFoundError,
    ExportError,
    PluginError,
    PluginWarning,
    UnknownModelError,
    WeightsError,
    ZooError,
)
from .export import export_model, exporter_names
from .hookspecs import hookimpl
from .interfaces import (
    ExportData,
    ExporterOption,
    ExportJob,
    ExportRuntime,
    ImageSet,
    Option,
    Samples,
    SampleSet,
)
from .manifest import manifest_weights, read_manifest, write_manifest
from .models import create_model, get_model_spec, get_recipe, get_weights, list_models
from .recipe import Recipe, RecipeError
from .run import Run
from .tables import format_table
from .version import __version__
from .weights import load_weights, save_weights
from .weights_info import WeightsInfo


def __getattr__(name: str) -> object:
    """``SequentialNet``, the named-parts container plugins build on, and ``TrainingSession``
    and ``TrainingEpoch``, what a trainer plugin drives, imported when first asked for: they need torch, which
    importing ``zoo_core`` must not load."""
    if name == "SequentialNet":
        from .parts import SequentialNet  # imports torch

        return SequentialNet
    if name in ("TrainingSession", "TrainingEpoch"):
        from . import training  # imports torch

        return getattr(training, name)
    raise AttributeError(f"module 'zoo_core' has no attribute {name!r}")


__all__ = [
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
    "create_model",
    "export_model",
    "exporter_names",
    "format_table",
    "get_dataset",
    "get_model_spec",
    "get_recipe",
    "get_weights",
    "hookimpl",
    "list_datasets",
    "list_models",
    "load_weights",
    "manifest_weights",
    "read_manifest",
    "save_weights",
    "user_cache_dir",
    "write_bytes",
    "write_json",
    "write_manifest",
]
