"""What each ``register(...)`` call becomes: a model, dataset, exporter or training-part entry,
validated where it enters. The arguments a ``register`` callback takes are the contract's
(``protocol``, one of ``hookspecs.Register*``); the registrar binds a call to it and hands
``make`` the arguments, defaults filled in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..base.checks import is_number, is_positive_int
from ..contract.hookspecs import (
    RegisterAugmentation,
    RegisterDataset,
    RegisterExporter,
    RegisterModel,
    RegisterPart,
    RegisterTrainer,
)
from ..contract.interfaces import (
    RESERVED_OPTIONS,
    Builder,
    DatasetLoader,
    Exporter,
    ExporterOption,
    ExportRuntime,
    Option,
    RuntimeOpener,
    WeightsFetcher,
)
from ..contract.recipe import Recipe, RecipeError
from ..contract.weights_info import WeightsInfo
from .registry import PluginOrigin, is_reference, load_object, require


@dataclass(frozen=True)
class ModelSpec:
    """One registered architecture: how to build it, its default configuration, its recipes
    and its trained weights.

    ``params`` is the parameter count at the default configuration, declared so that listing
    needs no torch; a test builds every model and checks it. ``recipe`` is the default training
    recipe; ``recipes`` are alternatives a user picks by name.
    """

    name: str
    builder: Builder | str
    params: int
    recipe: Recipe
    description: str
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    origin: PluginOrigin
    tags: tuple[str, ...] = field(default_factory=tuple)
    recipes: tuple[Recipe, ...] = field(default_factory=tuple)
    weights: tuple[WeightsInfo, ...] = field(default_factory=tuple)
    fetch: WeightsFetcher | str | None = None  # loads the weights its plugin's library keeps

    protocol: ClassVar[type] = RegisterModel
    namespaced: ClassVar[bool] = True  # a plugin may name its models NAMESPACE/name

    @classmethod
    def make(cls, origin: PluginOrigin, args: dict[str, Any]) -> ModelSpec:
        name, recipe, weights = args["name"], args["recipe"], args["weights"]
        all_recipes = (recipe, *args["recipes"])
        require(
            all(isinstance(r, Recipe) for r in all_recipes),
            "recipe and recipes must be zoo_core.Recipe objects",
        )
        names = [r.name for r in all_recipes]
        require(len(set(names)) == len(names), f"recipe names must differ, got {', '.join(names)}")
        for key in ("params", "num_classes", "in_channels"):
            require(is_positive_int(args[key]), f"{key} must be a positive integer, got {args[key]!r}")
        description = args["description"]
        require(
            isinstance(description, str) and bool(description.strip()),
            "description must be a non-empty string",
        )
        fetch = args["fetch"]
        require(
            fetch is None or callable(fetch) or is_reference(fetch),
            "fetch must be a callable or a 'module:function' string",
        )
        require(
            all(
                isinstance(w, WeightsInfo)
                and w.model == name
                and w.tag
                and ((w.sha256 and (w.file or w.url)) or (fetch and not (w.sha256 or w.file or w.url)))
                for w in weights
            ),
            "weights must be zoo_core.WeightsInfo entries of this model, each with a tag, a sha256, "
            "and a file or url (or none of the three, and a fetch that loads them)",
        )
        require(len({w.tag for w in weights}) == len(weights), "two weights entries share a tag")
        return cls(
            name=name,
            builder=args["builder"],
            params=args["params"],
            recipe=recipe,
            description=description.strip(),
            num_classes=args["num_classes"],
            in_channels=args["in_channels"],
            input_size=_size(args, "input_size"),
            origin=origin,
            tags=tuple(args["tags"]),
            recipes=tuple(args["recipes"]),
            weights=tuple(weights),
            fetch=fetch,
        )

    def find_recipe(self, name: str | None = None) -> Recipe:
        """The recipe called ``name`` (the default recipe when None)."""
        if name is None:
            return self.recipe
        known = {r.name: r for r in (self.recipe, *self.recipes)}
        if name not in known:
            raise RecipeError(
                f"{self.name} has no recipe {name!r}; its recipes: {', '.join(known)} "
                "(or give a recipe .json file)"
            )
        return known[name]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The default input as (channels, height, width)."""
        return (self.in_channels, *self.input_size)

    def load_builder(self) -> Builder:
        """The builder callable, importing it first when it was registered as 'module:function'."""
        return load_object(self.builder, f"model {self.name!r} from plugin {self.origin}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": self.params,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "input_size": list(self.input_size),
            "tags": list(self.tags),
            "plugin": self.origin.plugin,
            "distribution": self.origin.distribution,
            "version": self.origin.version,
            "recipe": self.recipe.to_dict(),
            "recipes": [r.name for r in (self.recipe, *self.recipes)],
            "weights": [w.to_dict() for w in self.weights],
        }


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset: its loader and the facts a trainer needs before loading it."""

    name: str
    loader: DatasetLoader | str
    classes: tuple[str, ...]
    in_channels: int | None
    image_size: tuple[int, int] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    description: str
    origin: PluginOrigin
    reads_folder: bool = False
    default: bool = False  # the dataset of a zoo 0.1 recipe that names none

    protocol: ClassVar[type] = RegisterDataset
    namespaced: ClassVar[bool] = False

    @classmethod
    def make(cls, origin: PluginOrigin, args: dict[str, Any]) -> DatasetSpec:
        classes, in_channels, mean, std = args["classes"], args["in_channels"], args["mean"], args["std"]
        require(
            all(isinstance(c, str) for c in classes) and len(classes) != 1,
            "classes must name at least two classes (or none, when the data name them)",
        )
        require(
            in_channels is None or is_positive_int(in_channels),
            f"in_channels must be a positive integer (or None when it varies), got {in_channels!r}",
        )
        folder, default = args["reads_folder"], args["default"]
        require(isinstance(folder, bool), f"reads_folder must be True or False, got {folder!r}")
        require(isinstance(default, bool), f"default must be True or False, got {default!r}")
        require(
            len(mean) == len(std)
            and len(mean) in {1, in_channels}
            and all(is_number(v) for v in (*mean, *std))
            and min(std) > 0,
            "mean and std need one value per channel (or one for every channel), std > 0",
        )
        return cls(
            name=args["name"],
            loader=args["loader"],
            classes=tuple(classes),
            in_channels=in_channels,
            image_size=_size(args, "image_size") if args["image_size"] is not None else None,
            mean=tuple(float(m) for m in mean),
            std=tuple(float(s) for s in std),
            description=args["description"],
            origin=origin,
            reads_folder=folder,
            default=default,
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def described(self, classes: Sequence[str], in_channels: int) -> DatasetSpec:
        """This dataset as one run sees it: the classes its data name, the channels its images
        are converted to, and a mean and std for each of them."""
        mean, std = self.mean, self.std
        if len(mean) != in_channels:
            mean, std = (sum(mean) / len(mean),) * in_channels, (sum(std) / len(std),) * in_channels
        return dataclasses.replace(
            self, classes=tuple(classes or self.classes), in_channels=in_channels, mean=mean, std=std
        )

    def load_loader(self) -> DatasetLoader:
        return load_object(self.loader, f"dataset {self.name!r} from plugin {self.origin}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "classes": list(self.classes),
            "in_channels": self.in_channels,
            "image_size": list(self.image_size) if self.image_size else None,
            "mean": list(self.mean),
            "std": list(self.std),
            "description": self.description,
            "reads_folder": self.reads_folder,
            "plugin": self.origin.plugin,
        }


@dataclass(frozen=True)
class ExporterSpec:
    """One registered export format: the exporter, the suffix of its files, the options it
    takes, the runtime that runs its files (for ``zoo bench``), if any, and whether
    ``zoo export`` writes it when no format is named."""

    name: str
    exporter: Exporter | str
    suffix: str
    description: str
    origin: PluginOrigin
    options: tuple[ExporterOption, ...] = ()
    runtime: ExportRuntime | None = None
    default: bool = False

    protocol: ClassVar[type] = RegisterExporter
    namespaced: ClassVar[bool] = False

    @classmethod
    def make(cls, origin: PluginOrigin, args: dict[str, Any]) -> ExporterSpec:
        name, suffix, options, runtime = args["name"], args["suffix"], args["options"], args["runtime"]
        require(
            name not in RESERVED_OPTIONS, f"{name!r} is a flag of `zoo export` itself; choose another name"
        )
        require(
            isinstance(suffix, str) and suffix.startswith("."),
            f"suffix must start with a dot, got {suffix!r}",
        )
        require(
            all(isinstance(o, ExporterOption) for o in options),
            "options must be zoo_core.ExporterOption objects",
        )
        names = [o.name for o in options]
        require(len(set(names)) == len(names), f"option names must differ, got {', '.join(names)}")
        require(
            runtime is None
            or (
                isinstance(runtime, ExportRuntime) and (callable(runtime.open) or is_reference(runtime.open))
            ),
            "runtime must be a zoo_core.ExportRuntime whose open is a callable or a 'module:function' string",
        )
        require(isinstance(args["default"], bool), f"default must be True or False, got {args['default']!r}")
        return cls(
            name,
            args["exporter"],
            suffix,
            args["description"],
            origin,
            tuple(options),
            runtime,
            args["default"],
        )

    def load_exporter(self) -> Exporter:
        return load_object(self.exporter, f"exporter {self.name!r} from plugin {self.origin}")

    def load_runtime(self) -> RuntimeOpener | None:
        """The runtime's ``open`` callable, or None when the format has no runtime."""
        if self.runtime is None:
            return None
        return load_object(self.runtime.open, f"runtime of exporter {self.name!r} from plugin {self.origin}")


@dataclass(frozen=True)
class PartSpec:
    """One registered training part (optimizer, schedule, loss, augmentation, weight averager or
    whole trainer): the callable a run calls, the options it reads from a recipe, and, for an
    augmentation, whether the label of an image survives it."""

    name: str
    target: Callable[..., Any] | str
    description: str
    origin: PluginOrigin
    options: tuple[Option, ...] = ()
    keeps_labels: bool = True
    default: bool = False
    mirrors: bool = False  # an augmentation that flips images left to right (see RegisterAugmentation)

    kind: ClassVar[str] = "part"
    has_default: ClassVar[bool] = True  # a recipe that names no part of this kind gets the default one
    plural: ClassVar[str] = "parts"
    protocol: ClassVar[type] = RegisterPart
    namespaced: ClassVar[bool] = False

    @classmethod
    def make(cls, origin: PluginOrigin, args: dict[str, Any]) -> PartSpec:
        description, options = args["description"], args["options"]
        require(
            isinstance(description, str) and bool(description.strip()),
            "description must be a non-empty string",
        )
        require(
            all(isinstance(o, Option) and not isinstance(o, ExporterOption) for o in options),
            "options must be zoo_core.Option objects",
        )
        names = [o.name for o in options]
        require(len(set(names)) == len(names), f"option names must differ, got {', '.join(names)}")
        keeps_labels = args.get("keeps_labels", True)
        require(isinstance(keeps_labels, bool), f"keeps_labels must be True or False, got {keeps_labels!r}")
        default = args.get("default", False)
        require(isinstance(default, bool), f"default must be True or False, got {default!r}")
        require(not default or cls.has_default, f"{cls.plural} have no default; a recipe names them")
        target = args["trainer"] if "trainer" in args else args["factory"]
        mirrors = args.get("mirrors", False)
        require(isinstance(mirrors, bool), f"mirrors must be True or False, got {mirrors!r}")
        return cls(
            args["name"], target, description.strip(), origin, tuple(options), keeps_labels, default, mirrors
        )

    def load(self) -> Callable[..., Any]:
        """The callable, importing it first when it was registered as 'module:function'."""
        return load_object(self.target, f"{self.kind} {self.name!r} from plugin {self.origin}")


class OptimizerSpec(PartSpec):
    kind, plural = "optimizer", "optimizers"


class ScheduleSpec(PartSpec):
    kind, plural = "schedule", "schedules"


class LossSpec(PartSpec):
    kind, plural = "loss", "losses"


class AugmentationSpec(PartSpec):
    kind, plural, protocol, has_default = "augmentation", "augmentations", RegisterAugmentation, False


class AveragerSpec(PartSpec):
    kind, plural, has_default = "averager", "averagers", False


class TrainerSpec(PartSpec):
    kind, plural, protocol = "trainer", "trainers", RegisterTrainer


class LoggerSpec(PartSpec):
    """A logger a run uses when asked (``zoo train --logger NAME``): ``factory(run)`` at the
    start of the run returns an object whose ``epoch_end(metrics)`` and ``end(report)`` are
    called on rank 0. Not a recipe's part: it changes what is written, not what is learnt."""

    kind, plural, has_default = "logger", "loggers", False


PART_KINDS: tuple[type[PartSpec], ...] = (
    OptimizerSpec,
    ScheduleSpec,
    LossSpec,
    AugmentationSpec,
    AveragerSpec,
    TrainerSpec,
)


def _size(args: dict[str, Any], key: str) -> tuple[int, int]:
    """A (height, width) argument as a tuple of two positive integers."""
    size = tuple(args[key])
    require(
        len(size) == 2 and all(is_positive_int(v) for v in size),
        f"{key} must be (height, width) in pixels, got {args[key]!r}",
    )
    return size  # type: ignore[return-value]
