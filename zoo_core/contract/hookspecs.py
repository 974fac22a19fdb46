"""The contract between the zoo's core and its plugins: every hook a plugin may implement, and
the ``register`` callbacks the registration hooks receive.

Registration is by callback, as in llm and datasette: the core hands each plugin its own
``register``, validates every entry where it enters and records which plugin it came from. The
``Register*`` protocols below are those callbacks' exact signatures (a test holds them to the
core's registrars). Hooks are called with keyword arguments; none returns a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pluggy

from .interfaces import (
    Builder,
    DatasetLoader,
    Exporter,
    ExporterOption,
    ExportRuntime,
    Option,
    WeightsFetcher,
)
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
        fetch: WeightsFetcher | str | None = None,
    ) -> None:
        """Register architecture ``name`` (lowercase letters, digits, underscores; a plugin may
        put its models in a namespace of its own, ``NAMESPACE/name``, which no other plugin may
        then use).

        ``builder``: a callable, or a ``"module:function"`` string imported only when the model is
        built, so that listing never imports torch; it takes ``num_classes`` and ``in_channels``
        as keywords. ``params``: the parameter count at the default configuration
        (``num_classes``, ``in_channels``), declared so that listing needs no torch; test it.
        ``input_size``: the default (height, width). ``recipe``: the default training recipe;
        ``recipes``: others a user picks by name. ``description``: one or two sentences for
        ``zoo info``; ``tags``: words to group models by. ``weights``: the trained weights, one
        :class:`WeightsInfo` per tag, each with its ``file`` or ``url`` and its ``sha256``, or,
        for weights that the plugin's own library downloads and caches (torchvision under
        ``TORCH_HOME``, huggingface_hub under ``HF_HOME``), with none of the three and a
        ``fetch``: a callable (or ``"module:function"``) given such an entry that returns its
        tensors, checked as that library checks them and read without unpickling code
        (safetensors, or ``torch.load(weights_only=True)``).

        A builder opts into named parts by returning a module with ``forward_features``,
        ``forward_head``, ``reset_classifier`` and ``feature_info`` (``zoo_core.SequentialNet``
        is one): ``features_only``, ``--freeze-features`` and ``zoo info``'s stages then work
        for it (see :mod:`zoo_core.models.named_parts`).
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
        reads_folder: bool = False,
        default: bool = False,
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
        ``description``: one sentence for ``zoo plugins``. ``reads_folder``: this is the dataset
        that ``--data PATH`` means (``zoo train``, ``eval``, ``export``): it reads a user's own
        folder, given as its ``data_dir`` (one plugin may claim it). ``default``: the dataset
        of a recipe that names none (written for zoo 0.1; one plugin may claim it).
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


class RegisterPart(Protocol):
    def __call__(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        description: str,
        options: Sequence[Option] = (),
        default: bool = False,
    ) -> None:
        """Register a training part (an optimizer, a schedule, a loss or a weight averager) that
        recipes name as ``name``.

        ``factory``: a callable, or a ``"module:function"`` string imported when a run needs it;
        what it takes and returns is the hook's (see each ``zoo_register_*`` hook).
        ``description``: one sentence for ``zoo plugins``. ``options``: the settings it reads
        from a recipe's ``options`` (:class:`zoo_core.Option`; checked, defaults filled in,
        before the factory is called). Name options after the part (``PART_SETTING``): the options
        of all the parts of one recipe share one namespace. ``default``: the optimizer, schedule
        or loss a recipe gets when it names none (one per kind; averagers have none).
        """


class RegisterAugmentation(Protocol):
    def __call__(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        description: str,
        options: Sequence[Option] = (),
        keeps_labels: bool = True,
        mirrors: bool = False,
    ) -> None:
        """Register a batch augmentation that recipes list in ``augment`` as ``name``.

        ``factory(*, recipe, options, dataset)`` returns ``augment(x, y, generator) -> (x, y)``,
        run on every training batch on the device: ``x`` float pixels in [0, 255] (N, C, H, W),
        before normalisation; ``y`` class indices (N,) or class probabilities (N, classes);
        ``generator`` the run's augmentation generator on the device (draw from it, or from
        torch's global generator: a checkpoint keeps both, so a resumed run repeats itself).
        ``dataset``: the run's :class:`~zoo_core.DatasetSpec` (classes, channels, mean and
        std). ``keeps_labels``: False when it changes what an image shows as well as its label
        (mixup): a distillation trainer then cannot let the teacher's answer for the stored
        image stand in for it. ``mirrors``: it flips images left to right, so a recipe that
        trains with it may also test on mirrored images (``tta``); without one, it does not.
        ``description`` and ``options`` as for the other parts (:class:`RegisterPart`).
        """


class RegisterTrainer(Protocol):
    def __call__(
        self,
        name: str,
        trainer: Callable[..., Any] | str,
        *,
        description: str,
        options: Sequence[Option] = (),
        default: bool = False,
    ) -> None:
        """Register a whole training loop that a recipe's ``trainer`` (or ``zoo train
        --trainer``) names as ``name``.

        ``trainer(session)`` trains and returns the run's report: ``session`` is a
        :class:`zoo_core.TrainingSession` holding the model, data, optimizer, schedule, loss and
        augmentations, whose ``epochs()``, ``step()`` and ``finish()`` keep the core's contract
        (checkpoints and exact resume, the epoch and end hooks, best and last weights, the
        final test). ``description``, ``options`` and ``default`` (the trainer of recipes that
        name none) as for the other parts (:class:`RegisterPart`); the session's ``options``
        holds the trainer's values.
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
def zoo_register_optimizers(register: RegisterPart) -> None:
    """Called once, when an optimizer is first looked up; ``register`` each one.
    ``factory(groups, *, recipe, options)`` returns a ``torch.optim.Optimizer`` over the
    parameter groups (learning rates already set per group), reading ``recipe.lr`` and
    ``recipe.weight_decay``."""


@hookspec
def zoo_register_schedules(register: RegisterPart) -> None:
    """Called once, when a learning-rate schedule is first looked up; ``register`` each one.
    ``factory(optimizer, *, recipe, options, total_steps)`` returns a
    ``torch.optim.lr_scheduler.LRScheduler`` stepped after every optimizer step, or None for a
    constant rate."""


@hookspec
def zoo_register_losses(register: RegisterPart) -> None:
    """Called once, when a loss is first looked up; ``register`` each one.
    ``factory(*, recipe, options)`` returns ``loss(logits, targets)``: the mean loss over the
    batch, for targets given as class indices (N,) or as class probabilities (N, classes)."""


@hookspec
def zoo_register_augmentations(register: RegisterAugmentation) -> None:
    """Called once, when a batch augmentation is first looked up; ``register`` each one
    (see :class:`RegisterAugmentation`)."""


@hookspec
def zoo_register_averagers(register: RegisterPart) -> None:
    """Called once, when a weight averager is first looked up; ``register`` each one.
    ``factory(model, *, recipe, options)`` returns a ``torch.optim.swa_utils.AveragedModel``
    (or anything with its ``module``, ``update_parameters(model)``, ``state_dict()`` and
    ``load_state_dict()``): updated after every optimizer step, its ``module`` is what the run
    validates, saves and tests."""


@hookspec
def zoo_register_trainers(register: RegisterTrainer) -> None:
    """Called once, when a trainer is first looked up; ``register`` each whole training loop
    (see :class:`RegisterTrainer`)."""


@hookspec
def zoo_register_loggers(register: RegisterPart) -> None:
    """Called once, when a logger is first looked up; ``register`` each logger a run may be
    asked to use (``zoo train --logger NAME``, repeatable). ``factory(run)`` is called on rank
    0 as the run starts (fresh or resumed) and returns an object with ``epoch_end(metrics)``
    and ``end(report)``, each optional. A logger writes into ``run.file(NAME)`` or elsewhere;
    unlike the ``zoo_train_*`` hooks, it runs only when asked for."""


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
