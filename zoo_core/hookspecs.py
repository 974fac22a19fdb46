"""The contract between the zoo's core and its plugins: every hook a plugin may implement, and
the ``register`` callbacks the registration hooks receive.

Registration is by callback, as in llm and datasette: the core hands each plugin its own
``register``, validates every entry where it enters and records which plugin it came from. The
``Register*`` protocols below are those callbacks' exact signatures (a test holds them to the
core's registrars). Hooks are called with keyword arguments; none returns a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pluggy

from .interfaces import Builder, DatasetLoader, Exporter, ExporterOption, ExportRuntime
from .recipe import Recipe
from .run import Run
from .weights_info import WeightsInfo

PROJECT = "zoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterModel(Protocol):
    def __call__(
        self,
        name: str,
        builder: Builder | str,
        *,
        params: int,
        recipe: Recipe,
        description: str,
        num_classes: int = 1000,
        in_channels: int = 3,
        input_size: tuple[int, int] = (224, 224),
        tags: Sequence[str] = (),
        recipes: Sequence[Recipe] = (),
        weights: Sequence[WeightsInfo] = (),
    ) -> None:
        """Register architecture ``name`` (lowercase letters, digits, underscores).

        ``builder``: a callable, or a ``"module:function"`` string imported only when the model is
        built, so that listing never imports torch; it takes ``num_classes`` and ``in_channels``
        as keywords. ``params``: the parameter count at the default configuration
        (``num_classes``, ``in_channels``), declared so that listing needs no torch; test it.
        ``input_size``: the default (height, width). ``recipe``: the default training recipe;
        ``recipes``: others a user picks by name. ``description``: one or two sentences for
        ``zoo info``; ``tags``: words to group models by. ``weights``: the trained weights, one
        :class:`WeightsInfo` per tag, each with its ``file`` and ``sha256``.

        A builder opts into named parts by returning a module with ``forward_features``,
        ``forward_head``, ``reset_classifier`` and ``feature_info`` (``zoo_core.SequentialNet``
        is one): ``features_only``, ``--freeze-features`` and ``zoo info``'s stages then work
        for it (see :mod:`zoo_core.parts`).
        """


class RegisterDataset(Protocol):
    def __call__(
        self,
        name: str,
        loader: DatasetLoader | str,
        *,
        description: str,
        classes: Sequence[str] = (),
        in_channels: int | None = None,
        image_size: tuple[int, int] | None = None,
        mean: Sequence[float] = (0.5,),
        std: Sequence[float] = (0.5,),
    ) -> None:
        """Register dataset ``name``, the name recipes give as ``dataset``.

        ``loader(*, data_dir, download)`` returns the data (or raises a ``ZooError`` saying how
        to get them); a callable or a ``"module:function"`` string. The data are either an
        :class:`ImageSet` (whole splits as uint8 tensors of one size, held in memory) or a
        :class:`SampleSet` (map-style datasets of PIL images of any size and mode, decoded when
        needed: the zoo caches them decoded when they fit in memory, streams them otherwise).
        ``classes``: the class names in label order; empty when the data name them (a
        ``SampleSet``'s ``classes``). ``in_channels`` and ``image_size``: the images as stored,
        or None when they vary (images are then converted to the model's channels and resized
        to the recipe's input size). ``mean`` and ``std``: applied after scaling pixels to
        [0, 1], one value per channel, or one value for every channel.
        ``description``: one sentence for ``zoo plugins``.
        """


class RegisterExporter(Protocol):
    def __call__(
        self,
        name: str,
        exporter: Exporter | str,
        *,
        suffix: str,
        description: str,
        options: Sequence[ExporterOption] = (),
        runtime: ExportRuntime | None = None,
        default: bool = False,
    ) -> None:
        """Register export format ``name`` (``zoo export --format NAME``, or ``--NAME``).

        ``exporter(job, path)`` writes and checks one file (a callable or a
        ``"module:function"`` string); ``suffix``: the file is written as ``MODEL<suffix>``.
        ``description``: one sentence for ``zoo export --help``. ``options``: the settings it
        takes, offered as ``zoo export`` flags and handed over in ``job.options``.
        ``runtime``: how ``zoo bench`` runs its files, if it can. ``default``: written when
        ``zoo export`` names no format.
        """


@hookspec
def zoo_register_models(register: RegisterModel) -> None:
    """Called once, when the model registry is first needed; call ``register`` for each
    architecture the plugin provides."""


@hookspec
def zoo_register_datasets(register: RegisterDataset) -> None:
    """Called once, when a dataset is first looked up; call ``register`` for each dataset."""


@hookspec
def zoo_register_exporters(register: RegisterExporter) -> None:
    """Called once, when the exporters are first looked up; call ``register`` for each format."""


@hookspec
def zoo_train_start(run: Run) -> None:
    """Called by the trainer on rank 0 before the first epoch of a run, fresh or resumed
    (``run.history`` then holds the epochs already done)."""


@hookspec
def zoo_train_epoch_end(run: Run, metrics: Mapping[str, float]) -> None:
    """Called by the trainer on rank 0 after each epoch's validation, once its checkpoint is
    queued, with that epoch's metrics (also the last entry of ``run.history``); a logger writes
    them somewhere."""


@hookspec
def zoo_train_end(run: Run, report: Mapping[str, Any]) -> None:
    """Called by the trainer on rank 0 once training and the final test are done and
    ``report.json`` is written, with the run's report (best epoch, losses, accuracies, timings)."""
