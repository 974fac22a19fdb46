"""A weights bundle: a folder holding ``model.safetensors`` and ``zoo.json``, the weights and
everything needed to use them (the :class:`WeightsInfo`: model, classes and labels, input size,
normalisation, recipe, metrics, license, sha256), as timm's ``local-dir:`` folders carry config
and weights together. Copy the folder anywhere; ``create_model(weights=FOLDER)`` and every
``--weights`` take it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..base.atomic import folder_mode, write_json
from ..base.checks import path_name
from ..base.errors import WeightsError
from ..contract.weights_info import WeightsInfo
from .manifest import entry_row
from .weights import load_weights, read_header, save_weights

WEIGHTS_FILE = "model.safetensors"
# the fields of zoo.json that the weights file's header (inside its sha256) must confirm
UNDER_THE_HASH = (
    "model",
    "num_classes",
    "in_channels",
    "input_size",
    "mean",
    "std",
    "labels",
    "interpolation",
)
STAGING_GLOB = ".*.tmp"  # a bundle being written (or one a killed writer left), and one being replaced
INFO_FILE = "zoo.json"


def bundle_place(model: str, tag: str) -> str:
    """Where a hub keeps the bundle of ``model``'s weights ``tag``, relative to the hub (a POSIX
    path, for folders and URLs alike): ``MODEL/TAG``, a namespaced model as one folder
    (``timm--resnet50/TAG``)."""
    return f"{path_name(model)}/{tag}"


def is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / INFO_FILE).is_file()


def read_bundle(folder: Path) -> WeightsInfo:
    """The bundle's :class:`WeightsInfo`, its ``file`` the bundle's weights file."""
    if not is_bundle(folder):
        raise WeightsError(
            f"{folder} is a folder but not a weights bundle: it has no {INFO_FILE} "
            f"(a bundle holds {WEIGHTS_FILE} and {INFO_FILE}, as `zoo publish` writes it)"
        )
    path = folder / INFO_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path} is not readable JSON: {exc}") from None
    try:
        info = WeightsInfo.from_dict(data, folder=folder)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    if info.file != folder / WEIGHTS_FILE or info.sha256 is None:
        raise WeightsError(f"{path} must name file {WEIGHTS_FILE!r} and its sha256")
    if info.file.is_file():
        _agrees_with_header(path, info)
    return info


def _agrees_with_header(path: Path, info: WeightsInfo) -> None:
    """Refuse a ``zoo.json`` that says other than its weights file's header, which the sha256 it
    records covers, on what a prediction depends on (classes, labels, input, normalisation)."""
    header = read_header(info.file)
    if "model" not in header:
        return  # a bare state dict: its header records nothing to compare
    own = WeightsInfo.from_metadata(header, where=str(info.file))
    for key in UNDER_THE_HASH:
        if key not in header:
            continue  # an older file records less; what it records must agree
        recorded = getattr(own, key)
        if getattr(info, key) != recorded:
            raise WeightsError(
                f"{path}: {key} is {getattr(info, key)!r} but the weights file's own header says "
                f"{recorded!r}; the bundle was changed after it was written: publish it again"
            )


def write_bundle(
    folder: Path, weights: Path, info: WeightsInfo, *, force: bool = False, figures: tuple[Path, ...] = ()
) -> WeightsInfo:
    """Write the tensors of the weights file ``weights``, with ``info`` as their header, and
    ``info`` as ``zoo.json``, into the new bundle ``folder``, with copies of ``figures`` (the
    pictures its run drew, for the hub's pages). The folder appears complete or not at all; an
    existing one is replaced only with ``force``."""
    if folder.exists() and not force:
        raise WeightsError(f"{folder} already exists; choose another tag or replace it with --force")
    state, _ = load_weights(weights)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        staging.chmod(folder_mode())
        target = staging / WEIGHTS_FILE
        sha256 = save_weights(state, target, info.to_metadata())
        done = dataclasses.replace(info, file=target, sha256=sha256, size=target.stat().st_size, url=None)
        write_json(staging / INFO_FILE, entry_row(done))
        for figure in figures:
            shutil.copyfile(figure, staging / figure.name)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataclasses.replace(done, file=folder / WEIGHTS_FILE)


def _swap_in(staging: Path, folder: Path) -> None:
    """Move the finished ``staging`` folder to ``folder``, replacing an old one."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.{os.getpid()}.old.tmp")
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
