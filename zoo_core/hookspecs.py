"""The contract between the zoo's core and its plugins: every hook a plugin may implement.

Registration hooks receive a ``register`` callback instead of returning values, so the core
validates each entry where it enters and records which plugin it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

PROJECT = "zoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def zoo_register_models(register: Callable[..., None]) -> None:
    """Called once when the registry is built; call ``register(name, builder, *, params, recipe,
    description, num_classes, in_channels, input_size, tags)`` for each architecture."""


@hookspec
def zoo_register_datasets(register: Callable[..., None]) -> None:
    """Called when the trainer looks up a dataset; call ``register(name, loader, ...)`` for each
    dataset the plugin provides."""


@hookspec
def zoo_register_exporters(register: Callable[..., None]) -> None:
    """Called when exporters are looked up; call ``register(format, exporter)`` for each file
    format the plugin writes."""


@hookspec
def zoo_train_epoch_end(run: Any, metrics: Mapping[str, Any]) -> None:
    """Called by the trainer on rank 0 after each epoch's validation, with the run (its directory,
    recipe and model name) and that epoch's metrics; a logger plugin writes them somewhere."""


@hookspec
def zoo_train_end(run: Any, report: Mapping[str, Any]) -> None:
    """Called by the trainer on rank 0 once training and the final test are done, with the
    run's report (best epoch, losses, accuracies, timings)."""
