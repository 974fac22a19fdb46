"""Models as users ask for them: list and describe registered architectures, look up their
recipes and trained weights, and build them, fresh or with weights.

A model built by :func:`create_model` carries ``model.zoo_weights``: the
:class:`~zoo_core.weights_info.WeightsInfo` of the weights it holds (adapted to the classes and
channels asked for), or None when it is freshly initialised, as timm's models carry
``pretrained_cfg``. Nothing here imports torch until a model is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundle import is_bundle, read_bundle
from .cache import hub_override
from .data import get_dataset
from .entries import ModelSpec
from .errors import BuilderArgumentError, PluginError, PluginWarning, WeightsError, ZooError
from .hub import hub_weights, locate
from .interfaces import Builder
from .plugins import model_registry
from .recipe import Recipe
from .recipe_parts import resolve_parts
from .validation import is_positive_int
from .weights import file_sha256, load_weights, read_header
from .weights_info import WeightsInfo

if TYPE_CHECKING:
    import torch

WeightsRef = bool | str | Path
"""True (the model's first weights tag), a tag such as ``"fashion_mnist"``, a ``.safetensors``
file, or a weights bundle folder (``model.safetensors`` + ``zoo.json``)."""


def list_models(pattern: str | None = None) -> list[str]:
    """Every registered model name, sorted; ``pattern`` filters with shell wildcards ('res*')."""
    return model_registry().names(pattern)


def get_model_spec(name: str) -> ModelSpec:
    """The registration of ``name``: builder, description, default input, recipes, weights, plugin."""
    return model_registry().get(name)


def get_recipe(model: str, recipe: str | Path | Recipe | None = None, **overrides: Any) -> Recipe:
    """The recipe to train ``model`` with: its default (``recipe=None``), one of its recipes by
    name, a recipe ``.json`` file, or a :class:`Recipe`; then ``overrides`` applied, each named
    after the recipe field it sets (None leaves a field alone). ``patience=0`` means no early
    stopping; ``augment`` may be a comma-separated string (``"flip,shift"``, or ``"none"``);
    ``options`` are added to the recipe's own. The parts the recipe names (optimizer, schedule,
    loss, augmentations, averager, trainer) must be registered and take its options."""
    spec = get_model_spec(model)
    if isinstance(recipe, Recipe):
        base = recipe
    elif recipe is not None and (str(recipe).endswith(".json") or Path(recipe).is_file()):
        base = Recipe.from_file(recipe)
    else:
        base = spec.find_recipe(recipe)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(changes.get("augment"), str):
        text = changes["augment"].strip()
        changes["augment"] = () if text in ("", "none") else tuple(a.strip() for a in text.split(","))
    if changes.get("patience") == 0:
        changes["patience"] = None
    if "options" in changes:
        changes["options"] = {**base.options, **changes["options"]}
    recipe = base.replace(**changes) if changes else base
    resolve_parts(recipe)  # an unknown part or a bad option stops here, before any data is read
    return recipe


def get_weights(model: str, weights: WeightsRef = True, *, hub: str | None = None) -> WeightsInfo:
    """What the weights ``weights`` of ``model`` are (labels, preprocessing, recipe, metrics),
    without building the model or downloading its weights: a tag's manifest entry (a hub's,
    for a tag only ``hub`` or ``$ZOO_HUB`` has), a bundle's ``zoo.json``, or a safetensors
    file's header."""
    info = _find(get_model_spec(model), weights, hub=hub)
    return info if info.sha256 else dataclasses.replace(info, sha256=file_sha256(info.file))


def create_model(
    name: str | None = None,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    weights: WeightsRef | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    """Build model ``name``, freshly initialised or with trained ``weights``.

    ``weights``: None or False for none, True for the model's first weights tag, a tag such as
    ``"fashion_mnist"``, a ``.safetensors`` file, or a weights bundle folder (then ``name`` may
    be left out: the bundle says which model it holds). A tag's file comes from the checkout,
    the cache or its hub (``$ZOO_HUB`` for tags only a hub has), and every file with a recorded
    sha256 is checked before it is read.
    ``num_classes`` and ``in_channels`` default to the weights' (or the registered
    configuration); asking for others re-initialises the classifier (with a warning) or adapts
    the first convolution, as timm does. Any other keyword goes to the builder, which must
    accept it.
    ``features_only``: a module that returns the stage feature maps (those at ``out_indices``,
    all by default) as a list instead of logits, for models with named parts
    (:mod:`zoo_core.parts`; ``zoo info NAME`` says whether a model has them).
    """
    model = _create(name, num_classes=num_classes, in_channels=in_channels, weights=weights, **builder_kwargs)
    if not features_only:
        if out_indices is not None:
            raise BuilderArgumentError("out_indices selects feature maps: give it with features_only=True")
        return model
    from .parts import FeatureMaps  # imports torch, as the model built has

    info = model.zoo_weights
    model = FeatureMaps(model, out_indices)
    model.zoo_weights = info
    return model


def _create(
    name: str | None,
    *,
    num_classes: int | None,
    in_channels: int | None,
    weights: WeightsRef | None,
    **builder_kwargs: Any,
) -> torch.nn.Module:
    if name is None:
        if not isinstance(weights, str | Path) or not is_bundle(Path(weights)):
            raise WeightsError("create_model needs a model name, unless weights= is a weights bundle folder")
        name = read_bundle(Path(weights)).model
    spec = get_model_spec(name)
    if weights is None or weights is False:
        model = build(spec, num_classes=num_classes, in_channels=in_channels, **builder_kwargs)
        model.zoo_weights = None
        return model
    info = _find(spec, weights)
    if info.sha256 is not None:
        info = locate(info)
    state, _ = load_weights(info.file)
    if info.sha256 is None:
        info = dataclasses.replace(info, sha256=file_sha256(info.file))
    classes = info.num_classes if num_classes is None else num_classes
    channels = info.in_channels if in_channels is None else in_channels
    model = None
    if (classes, channels) == (info.num_classes, info.in_channels):
        model = _built_from(spec, state, classes=classes, channels=channels, **builder_kwargs)
    if model is None:
        model = build(spec, num_classes=classes, in_channels=channels, **builder_kwargs)
        _load_adapted(model, state, info, classes=classes, channels=channels)
    model.zoo_weights = _adapted_info(info, classes, channels)
    return model


def _built_from(
    spec: ModelSpec, state: dict[str, torch.Tensor], *, classes: int, channels: int, **builder_kwargs: Any
) -> torch.nn.Module | None:
    """The model built without initialising its weights and given the loaded tensors
    themselves, which skips work the load would overwrite; None when the tensors do not fit it
    exactly, for the checked path."""
    with _initialisers_skipped():
        model = build(spec, num_classes=classes, in_channels=channels, **builder_kwargs)
    own = model.state_dict()
    if own.keys() != state.keys() or any(own[k].shape != state[k].shape for k in own):
        return None
    model.load_state_dict(state, assign=True)
    return model


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
def _initialisers_skipped() -> Iterator[None]:
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


def skeleton(name: str, **kwargs: Any) -> torch.nn.Module:
    """Model ``name`` on the meta device with nothing initialised: its structure, shapes and
    parameter count for no memory and no time (``zoo info``, ``zoo plugins --check``)."""
    import torch  # heavy: only when a model is built

    with torch.device("meta"), _initialisers_skipped():
        return create_model(name, **kwargs)


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


def _find(spec: ModelSpec, weights: WeightsRef, *, hub: str | None = None) -> WeightsInfo:
    """The weights ``weights`` names, nothing downloaded yet: a registered or hub entry, or a
    bundle (each with the sha256 its file must have), or a file's header (no sha256 yet)."""
    if weights is True:
        if not spec.weights:
            raise WeightsError(f"{spec.name} has no trained weights; train some with `zoo train {spec.name}`")
        return spec.weights[0]
    if not isinstance(weights, str | Path) or not str(weights):
        raise WeightsError(f"weights must be a tag, a .safetensors file or a bundle folder, got {weights!r}")
    for entry in spec.weights:
        if weights == entry.tag:
            return entry
    path = Path(weights)
    hub = hub or hub_override()
    if is_bundle(path):
        info = read_bundle(path)
    elif path.suffix == ".safetensors" or (path.exists() and not path.is_dir()):
        info = _file_info(spec, path)
    elif hub and (entry := hub_weights(spec.name, str(weights), hub)) is not None:
        info = entry
    elif path.is_dir():
        info = read_bundle(path)  # says what a bundle folder holds
    else:
        tags = ", ".join(e.tag for e in spec.weights if e.tag) or "none"
        raise WeightsError(
            f"{spec.name} has no weights {str(weights)!r}; its weights tags: {tags} "
            "(or give a .safetensors file or a bundle folder, or set ZOO_HUB to a hub that has it)"
        )
    if info.model != spec.name:
        raise WeightsError(f"{weights} holds weights for {info.model!r}, not {spec.name!r}")
    return info


def _file_info(spec: ModelSpec, path: Path) -> WeightsInfo:
    """What a safetensors file's header says about it (a bare state dict: the registered
    configuration)."""
    header = read_header(path)
    if "model" not in header:  # a bare state dict, e.g. save_file(model.state_dict(), path)
        info = registered_info(spec, spec.num_classes, spec.in_channels, spec.input_size)
    else:
        info = WeightsInfo.from_metadata(header, where=str(path))
    return dataclasses.replace(info, file=path)


def registered_info(spec: ModelSpec, classes: int, channels: int, input_size: tuple[int, int]) -> WeightsInfo:
    """What weights that record nothing about themselves are taken to be: the given shape, with
    the normalisation and labels of the model's recipe dataset where that shape fits it."""
    facts: dict[str, Any] = {}
    try:
        dataset = get_dataset(spec.recipe.dataset)
    except ZooError:
        dataset = None
    if dataset is not None and dataset.in_channels == channels:
        facts.update(mean=dataset.mean, std=dataset.std)
    if dataset is not None and dataset.num_classes == classes:
        facts["labels"] = dataset.classes
    return WeightsInfo(
        model=spec.name, num_classes=classes, in_channels=channels, input_size=input_size, **facts
    )


def _load_adapted(
    model: torch.nn.Module, state: dict[str, torch.Tensor], info: WeightsInfo, *, classes: int, channels: int
) -> None:
    """Load ``state`` into ``model``, adapting the first convolution to ``channels`` inputs and
    re-initialising the classifier for another number of classes."""
    name = info.model
    own = model.state_dict()
    if channels != info.in_channels:
        key = _first_conv_key(model)
        state[key] = _adapt_input_conv(state[key], channels)
    mismatched = [k for k in own if k in state and own[k].shape != state[k].shape]
    if mismatched:
        head = _classifier_keys(model)
        if classes == info.num_classes or not set(mismatched) <= set(head):
            raise WeightsError(f"the weights do not fit {name}: {', '.join(mismatched)} differ in shape")
        warnings.warn(
            f"{name}: the weights have {info.num_classes} classes; the classifier ({', '.join(head)}) "
            f"was re-initialised for {classes}",
            stacklevel=4,
        )
        for key in head:
            state[key] = own[key]
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        parts = [
            f"{label} {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise WeightsError(f"the weights do not fit {name}: {'; '.join(parts)}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"the weights do not fit {name}: {str(exc).splitlines()[0]}") from None


def _adapted_info(info: WeightsInfo, classes: int, channels: int) -> WeightsInfo:
    """``info`` as it holds for the model built: another head has no labels and no measured
    metrics; other input channels share the weights' mean normalisation."""
    changes: dict[str, Any] = {}
    if classes != info.num_classes:
        changes.update(num_classes=classes, labels=(), metrics={})
    if channels != info.in_channels:
        changes["in_channels"] = channels
        for key in ("mean", "std"):
            values = getattr(info, key)
            if values is not None:
                changes[key] = (sum(values) / len(values),) * channels
    return dataclasses.replace(info, **changes) if changes else info


def _first_conv_key(model: torch.nn.Module) -> str:
    from torch import nn  # the model exists, so torch is loaded already

    name = next(n for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
    return f"{name}.weight"


def _classifier_keys(model: torch.nn.Module) -> list[str]:
    from torch import nn  # the model exists, so torch is loaded already

    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    return [f"{name}.{p}" for p, _ in model.get_submodule(name).named_parameters()]


def _adapt_input_conv(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """First-convolution kernels for ``channels`` inputs (timm's rule): summed over the trained
    channels for one input channel, else repeated and scaled to keep the activation's size."""
    have = weight.shape[1]
    if channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = -(-channels // have)
    return weight.repeat(1, repeats, 1, 1)[:, :channels] * (have / channels)
