"""Calling a plugin's builder: its arguments checked against its signature, its failures named
after its plugin, its parameter count held to what the plugin declared; and building with
``torch.nn.init``'s fills skipped, for models whose every weight is about to be replaced.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..base.checks import is_positive_int
from ..base.errors import BuilderArgumentError, PluginError, PluginWarning, ZooError
from ..contract.interfaces import Builder
from ..host.entries import ModelSpec

if TYPE_CHECKING:
    import torch


# torch.nn.init's fills; tensors are still allocated, only not filled.
INITIALISERS = (
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
)


@contextlib.contextmanager
def initialisers_skipped() -> Iterator[None]:
    """``torch.nn.init``'s fills do nothing while a model whose every parameter is about to be
    replaced is built, as transformers' ``no_init_weights`` does. (Building on the meta device
    skips them too, but an ``init.normal_`` there imports torch._dynamo: a second, cold.)
    Not thread-safe: another thread initialising a model meanwhile would skip its fills too."""
    from torch.nn import init  # the weights are loaded, so torch is loaded already

    saved = {name: getattr(init, name) for name in INITIALISERS if hasattr(init, name)}
    for name in saved:
        setattr(init, name, _unfilled)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(init, name, function)


def _unfilled(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    return tensor


def build(
    spec: ModelSpec, *, num_classes: int | None, in_channels: int | None, **builder_kwargs: Any
) -> torch.nn.Module:
    """Call ``spec``'s builder after checking the arguments against its signature."""
    kwargs = {
        "num_classes": spec.num_classes if num_classes is None else num_classes,
        "in_channels": spec.in_channels if in_channels is None else in_channels,
        **builder_kwargs,
    }
    for key in ("num_classes", "in_channels"):
        if not is_positive_int(kwargs[key]):
            raise BuilderArgumentError(f"{spec.name}: {key} must be a positive integer, got {kwargs[key]!r}")
    builder = spec.load_builder()
    accepted = builder_arguments(builder)
    if accepted is not None:
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise BuilderArgumentError(
                f"{spec.name} does not accept {', '.join(repr(k) for k in unknown)}; "
                f"it accepts: {', '.join(accepted)}"
            )
    try:
        model = builder(**kwargs)
    except ZooError:  # the builder's own clear message
        raise
    except Exception as exc:
        raise PluginError(
            f"the builder of {spec.name} (plugin {spec.origin}) failed: {type(exc).__name__}: "
            f"{(str(exc).strip().splitlines() or [''])[0]}"
        ) from None
    if not _is_module(model):
        raise PluginError(
            f"the builder of {spec.name} (plugin {spec.origin}) returned a {type(model).__name__}, "
            "not a torch.nn.Module"
        )
    _check_params(spec, model, kwargs)
    return model


def _is_module(model: Any) -> bool:
    from torch import nn  # a builder ran, so torch is loaded already

    return isinstance(model, nn.Module)


def _check_params(spec: ModelSpec, model: torch.nn.Module, kwargs: dict[str, Any]) -> None:
    """Warn, once per model, when a model built at its registered configuration does not have
    the parameter count its plugin declared (`zoo list` shows the declared figure)."""
    default = kwargs == {"num_classes": spec.num_classes, "in_channels": spec.in_channels}
    registration = (spec.name, str(spec.origin), spec.params)  # a model registered anew is checked anew
    if not default or registration in _PARAMS_CHECKED:
        return
    _PARAMS_CHECKED.add(registration)
    counted = count_params(model)
    if counted != spec.params:
        warnings.warn(
            f"{spec.name} (plugin {spec.origin}) declares {spec.params:,} parameters but has {counted:,}; "
            "`zoo list` shows the declared figure",
            PluginWarning,
            stacklevel=5,
        )


_PARAMS_CHECKED: set[tuple[str, str, int]] = set()


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def builder_arguments(builder: Builder) -> list[str] | None:
    """The keyword arguments a builder takes, or None when it takes any (``**kwargs``)."""
    params = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY]
