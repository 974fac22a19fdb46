"""zoo: a plugin-based PyTorch model zoo.

Importing this package does not import torch: listing and describing models stays fast, and
torch is loaded only when a model is built.
"""

from .errors import PluginError, UnknownModelError, ZooError
from .hookspecs import hookimpl
from .recipe import Recipe
from .registry import ModelSpec, create_model, get_model_spec, list_models

__version__ = "0.1.0"

__all__ = [
    "ModelSpec",
    "PluginError",
    "Recipe",
    "UnknownModelError",
    "ZooError",
    "__version__",
    "create_model",
    "get_model_spec",
    "hookimpl",
    "list_models",
]
