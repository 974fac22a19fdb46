"""What a set of trained weights is: the one schema of weights metadata.

A :class:`WeightsInfo` travels with every weights file: as the manifest entry of shipped weights
(``to_dict`` / ``from_dict``), as the string header of a safetensors file and the metadata of an
exported ONNX file (``to_metadata`` / ``from_metadata``), and as ``model.zoo_weights`` on every
model built with weights (as timm's ``pretrained_cfg``). It is validated where it is made, so a
bad field is one :class:`WeightsError` naming it, wherever the data came from.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ..base.checks import MODEL_RULE, TAG_RULE, is_model_name, is_number, is_positive_int, is_tag
from ..base.errors import WeightsError
from .recipe import Recipe, RecipeError

FORMAT = "zoo-weights-1"
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
IMAGE_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
# Header values that are stored as plain strings; every other field is stored as JSON.
TEXT_FIELDS = ("model", "tag", "interpolation", "dataset", "license", "source", "created")
# Properties of a file and where to find it rather than of the weights, so never written into the
# file's own header.
FILE_FIELDS = ("file", "sha256", "size", "url", "hub")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, kw_only=True)
class WeightsInfo:
    """One set of trained weights of one model: what input it expects, what it predicts, how it
    was trained and how good it is.

    ``metrics`` holds what was measured: ``test_accuracy`` and ``test_loss`` of a single
    pass (what ``model(x)`` gives), and ``test_accuracy_tta`` beside them when the recipe averages
    flipped images at test time; ``source``
    says how the weights were made (``"zoo train on <device>"``); ``versions`` the framework
    versions they were made with. ``file`` and ``sha256`` locate and check the tensors; they are
    known for shipped weights and for files read from disk; ``size`` is the file's length in bytes.
    ``url`` says where the file can be downloaded: relative to the ``hub`` base that its manifest
    names (or that ``ZOO_HUB`` overrides), or absolute.
    """

    model: str
    tag: str | None = None
    file: Path | None = None
    sha256: str | None = None
    size: int | None = None
    url: str | None = None
    hub: str | None = None
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    interpolation: str = "bilinear"
    crop_pct: float = 1.0
    labels: tuple[str, ...] = ()
    dataset: str | None = None
    recipe: Recipe | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: int | None = None
    license: str | None = None
    source: str | None = None
    created: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)  # the weights these were fine-tuned from
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("input_size", "mean", "std", "labels"):
            value = getattr(self, key)
            if isinstance(value, list | tuple):
                object.__setattr__(self, key, tuple(value))
        if isinstance(self.file, str):
            object.__setattr__(self, "file", Path(self.file))
        _check(self)

    @property
    def name(self) -> str:
        """``model.tag``, as timm names pretrained weights (the model alone when untagged)."""
        return f"{self.model}.{self.tag}" if self.tag else self.model

    # -- JSON (manifest entries) -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``file`` is written as its name, relative to the manifest's folder."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["file"] = self.file.name if self.file else None
        data["recipe"] = self.recipe.to_dict() if self.recipe else None
        for key in ("input_size", "mean", "std", "labels"):
            data[key] = None if data[key] is None else list(data[key])
        if data["crop_pct"] == 1:
            del data["crop_pct"]  # the default, as zoo 0.3 wrote every entry (and can read this one)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, folder: Path | None = None) -> WeightsInfo:
        """The inverse of :meth:`to_dict`; ``file`` is resolved against ``folder``."""
        if not isinstance(data, Mapping):
            raise WeightsError(f"a weights entry must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeightsError(f"unknown weights field {unknown[0]!r}; fields: {', '.join(sorted(known))}")
        values = {k: v for k, v in data.items() if v is not None}
        if "recipe" in values:
            values["recipe"] = _recipe(values["recipe"])
        for key in ("file", "url"):
            if key in values and not _confined(values[key], url=key == "url"):
                raise WeightsError(
                    f"weights field {key!r} must be a relative path inside the manifest's folder "
                    f"(no '..', not absolute){' or a URL' if key == 'url' else ''}, got {values[key]!r}"
                )
        if "file" in values:
            values["file"] = (folder or Path()) / values["file"]
        missing = [k for k in ("model", "num_classes", "in_channels", "input_size") if k not in values]
        if missing:
            raise WeightsError(f"weights field {missing[0]!r} is missing")
        return cls(**values)

    # -- strings (safetensors headers, ONNX metadata_props) ----------------------------------
    def to_metadata(self) -> dict[str, str]:
        """The header of a weights file: every known field as a string, JSON where not text."""
        header = {"format": FORMAT}
        for key, value in self.to_dict().items():
            if key in FILE_FIELDS or value in (None, {}, []):
                continue
            header[key] = value if key in TEXT_FIELDS else json.dumps(value)
        return header

    @classmethod
    def from_metadata(cls, header: Mapping[str, str], *, where: str = "weights header") -> WeightsInfo:
        """Read a header written by :meth:`to_metadata` (keys it does not know are left alone:
        exporters add their own). A missing or malformed field is a :class:`WeightsError`
        naming it and ``where`` it was read from."""
        if header.get("format", FORMAT) != FORMAT:
            raise WeightsError(
                f"{where}: format {header['format']!r} is not {FORMAT!r}, the one this zoo reads"
            )
        known = {f.name for f in dataclasses.fields(cls)} - set(FILE_FIELDS)
        data: dict[str, Any] = {}
        for key in known & set(header):
            text = header[key]
            if key in TEXT_FIELDS:
                data[key] = text
                continue
            try:
                data[key] = json.loads(text)
            except json.JSONDecodeError:
                raise WeightsError(f"{where}: field {key!r} is not JSON: {text[:60]!r}") from None
        # files written before ``versions`` existed carry one '<framework>_version' key each
        legacy = {k.removesuffix("_version"): v for k, v in header.items() if k.endswith("_version")}
        if legacy and "versions" not in data:
            data["versions"] = legacy
        try:
            return cls.from_dict(data)
        except WeightsError as exc:
            raise WeightsError(f"{where}: {exc}") from None

    # -- preprocessing -----------------------------------------------------------------------
    def transforms(self) -> Callable[[Any], Any]:
        """The transform a user applies to a PIL image (any size or mode) before the model, as
        these weights were trained: upright as its EXIF orientation says, to the weights' image
        mode, the short side resized to ``input_size / crop_pct`` and the centre cropped to
        ``input_size`` (:func:`fit_image`), scaled to [0, 1], normalised. Like torchvision's
        ``Weights.transforms()``."""
        if self.mean is None or self.std is None:
            raise WeightsError(f"{self.name} does not record its normalisation (mean and std)")
        mode = IMAGE_MODES.get(self.in_channels)
        if mode is None:
            raise WeightsError(f"{self.name} takes {self.in_channels} channels; no image mode has that many")
        import torch  # heavy: only when a transform is asked for
        from torchvision.transforms import v2  # heavy, as torch

        return v2.Compose(
            [
                v2.Lambda(functools.partial(convert_image, mode=mode)),
                v2.Lambda(
                    functools.partial(
                        fit_image,
                        size=self.input_size,
                        crop_pct=self.crop_pct,
                        interpolation=self.interpolation,
                    )
                ),
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(self.mean), list(self.std)),
            ]
        )


def _confined(value: Any, *, url: bool) -> bool:
    """A relative path that stays inside its folder (or, for a ``url``, an http(s) URL)."""
    if not isinstance(value, str) or not value:
        return False
    if url and urlsplit(value).scheme in ("http", "https"):
        return True
    path = PurePosixPath(value.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and ":" not in value


def convert_image(image: Any, *, mode: str) -> Any:
    """``image`` upright (as a camera's EXIF orientation tag says) and in ``mode``; 16- and
    32-bit grayscale are scaled to 8 bits first (PIL's own conversion clips them at 255, which
    turns most of a 16-bit picture white)."""
    import numpy as np  # comes with torch, which a transform has loaded
    from PIL import Image, ImageOps  # an image is being read, so PIL is loaded already

    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)  # a copy: the caller's image stays as it is
    if image.mode.startswith("I") or image.mode == "F":
        scale = 255 / 65535 if image.mode.startswith("I") else 255  # 16-bit counts, or 0..1 floats
        deep = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.rint(deep * scale).clip(0, 255).astype(np.uint8), "L")
    return image if image.mode == mode else image.convert(mode)


def fit_image(
    image: Any, *, size: tuple[int, int], crop_pct: float = 1.0, interpolation: str = "bilinear"
) -> Any:
    """``image`` (PIL) at ``size`` (height, width) without distorting it: scaled (antialiased,
    with ``interpolation``) until it covers ``size / crop_pct``, then the centre ``size`` cut
    out, as timm and torchvision evaluate (``crop_pct`` 0.875: the short side to 256, the
    centre 224). An image of ``size``'s shape and ``crop_pct`` 1 is only resized."""
    from PIL import Image  # an image is being read, so PIL is loaded already

    height, width = size
    if image.size == (width, height) and crop_pct == 1:
        return image
    scale = max(width / image.width, height / image.height) / crop_pct
    resized = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    if image.size != resized:
        image = image.resize(resized, resample=getattr(Image.Resampling, interpolation.upper()))
    left, top = (resized[0] - width) // 2, (resized[1] - height) // 2
    return image if resized == (width, height) else image.crop((left, top, left + width, top + height))


def _recipe(value: Any) -> Recipe:
    if isinstance(value, Recipe):
        return value
    if not isinstance(value, dict):
        raise WeightsError(f"weights field 'recipe' must be a recipe object, got {value!r}")
    try:
        return Recipe.from_dict(value, warn=False)  # a record of how they were trained
    except (RecipeError, TypeError) as exc:
        raise WeightsError(f"weights field 'recipe' is not a valid recipe: {exc}") from None


MAX_SIDE = 16384  # pixels: far beyond any classifier's input, far below what exhausts memory


def _check(info: WeightsInfo) -> None:
    """Every field's type and range; the first bad one raises a ``WeightsError`` naming it."""

    def fail(key: str, what: str) -> None:
        raise WeightsError(f"weights field {key!r} {what}, got {getattr(info, key)!r}")

    for key in ("model", "tag", "dataset", "license", "source", "created", "url", "hub"):
        value = getattr(info, key)
        if (key == "model" or value is not None) and (not isinstance(value, str) or not value):
            fail(key, "must be a non-empty string")
    if not is_model_name(info.model):
        fail("model", f"must be a registered model's name: {MODEL_RULE}")
    if info.tag is not None and not is_tag(info.tag):
        fail("tag", f"must be {TAG_RULE}")
    for key in ("num_classes", "in_channels", "params", "size"):
        value = getattr(info, key)
        if (key not in ("params", "size") or value is not None) and not is_positive_int(value):
            fail(key, "must be a positive integer")
    if len(info.input_size) != 2 or not all(is_positive_int(v) and v <= MAX_SIDE for v in info.input_size):
        fail("input_size", f"must be (height, width) in pixels, each at most {MAX_SIDE}")
    for key in ("mean", "std"):
        value = getattr(info, key)
        if value is None:
            continue
        if not isinstance(value, tuple) or len(value) != info.in_channels or not all(map(is_number, value)):
            fail(key, f"must be {info.in_channels} number(s), one per input channel")
        if key == "std" and min(value) <= 0:
            fail(key, "must be positive")
    if info.interpolation not in INTERPOLATIONS:
        fail("interpolation", f"must be one of {', '.join(INTERPOLATIONS)}")
    if not is_number(info.crop_pct) or not 0.1 <= info.crop_pct <= 1:
        fail(
            "crop_pct",
            "must be a number from 0.1 to 1 (the share of the resized image kept by the centre crop)",
        )
    if not all(isinstance(v, str) for v in info.labels) or len(info.labels) not in (0, info.num_classes):
        fail("labels", f"must be {info.num_classes} class names (or none)")
    if info.recipe is not None and not isinstance(info.recipe, Recipe):
        fail("recipe", "must be a zoo_core.Recipe")
    if not isinstance(info.metrics, dict) or not all(
        isinstance(k, str) and is_number(v) for k, v in info.metrics.items()
    ):
        fail("metrics", "must map names to numbers")
    if not isinstance(info.versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in info.versions.items()
    ):
        fail("versions", "must map framework names to version strings")
    if info.file is not None and not isinstance(info.file, Path):
        fail("file", "must be a path")
    if info.sha256 is not None and not (isinstance(info.sha256, str) and SHA256.match(info.sha256)):
        fail("sha256", "must be 64 lowercase hexadecimal digits")
    if not isinstance(info.parent, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in info.parent.items()
    ):
        fail("parent", "must map names to strings (model, weights, sha256)")
    if not isinstance(info.extra, dict):
        fail("extra", "must be a JSON object")
