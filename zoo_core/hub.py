"""torch.hub entry points: one callable per registered model, third-party models included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models import builder_arguments, create_model, get_model_spec, list_models


def hub_entrypoints() -> dict[str, Callable[..., Any]]:
    """``{name: entry}`` for every registered model, for ``hubconf.py`` to publish."""
    return {name: _entrypoint(name) for name in list_models()}


def _entrypoint(name: str) -> Callable[..., Any]:
    spec = get_model_spec(name)

    def entry(**kwargs: Any) -> Any:
        return create_model(name, **kwargs)

    others = [
        a for a in builder_arguments(spec.load_builder()) or () if a not in ("num_classes", "in_channels")
    ]
    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = (
        f"{spec.description}\n\n"
        f"Default input {'x'.join(map(str, spec.input_shape))}, {spec.params:,} parameters; "
        f"from plugin {spec.origin}.\n\n"
        f"Keyword arguments: num_classes (default {spec.num_classes}), "
        f"in_channels (default {spec.in_channels})"
        + (f", {', '.join(others)}" if others else "")
        + ".\n"
        + (
            f"weights: None (fresh), True or a tag: {', '.join(w.tag for w in spec.weights)}; "
            "loaded from the repository's weights/ folder after a sha256 check. The model's "
            "zoo_weights attribute says what its weights are (labels, preprocessing, metrics).\n"
            if spec.weights
            else "No trained weights ship with this model; weights= also takes a .safetensors file.\n"
        )
    )
    return entry
