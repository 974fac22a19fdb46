"""torch.hub entry points: one callable per registered model, third-party models included, and
``create(name, ...)`` for any of them, namespaced ones (``timm/resnet50``) too, whose names are
no Python identifiers.

Writing the entry points imports no builder, so a plugin whose network code fails to import
breaks only its own models (``create_model`` names the failure when one is loaded), as in the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models.catalogue import get_model_spec, list_models
from .models.factory import create_model


def hub_entrypoints() -> dict[str, Callable[..., Any]]:
    """``{name: entry}`` for every registered model whose name is an identifier, and
    ``create``, for ``hubconf.py`` to publish."""
    entries = {name: _entrypoint(name) for name in list_models() if name.isidentifier()}
    return {**entries, "create": create}


def create(name: str, **kwargs: Any) -> Any:
    """Any registered model by its name, namespaced or not, with the keyword arguments of
    ``zoo_core.create_model`` (``weights=``, ``num_classes=``, ...):
    ``torch.hub.load(repo, "create", "timm/resnet50", weights="a1_in1k")``."""
    return create_model(name, **kwargs)


def _entrypoint(name: str) -> Callable[..., Any]:
    spec = get_model_spec(name)

    def entry(**kwargs: Any) -> Any:
        return create_model(name, **kwargs)

    tags = ", ".join(w.tag for w in spec.weights if w.tag)
    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = (
        f"{spec.description}\n\n"
        f"Default input {'x'.join(map(str, spec.input_shape))}, {spec.params:,} parameters; "
        f"from plugin {spec.origin}.\n\n"
        f"Keyword arguments: num_classes (default {spec.num_classes}), "
        f"in_channels (default {spec.in_channels}), and any the builder takes "
        f"(`zoo info {name}`).\n"
        "weights: None (fresh), "
        + (f"True or a tag: {tags}, " if tags else "")
        + "a .safetensors file or a bundle folder; files are sha256-checked before they are loaded, "
        "and a tag's file is downloaded into the cache when the repository does not hold it. "
        "The model's zoo_weights attribute says what its weights are (labels, preprocessing, metrics).\n"
    )
    return entry
