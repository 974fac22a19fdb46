"""Your own images, as torchvision's ImageFolder reads them: one sub-folder per class
(``PATH/CLASS/*.png``), or ``PATH/train|val|test/CLASS/...`` for fixed splits.

A built-in plugin on the same hook as any dataset plugin: it hands the zoo samples (PIL images
of any size and mode, decoded when asked for); the zoo converts, resizes, caches or streams
them. Class names come from the folder names, in sorted order.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo_core import SampleSet, ZooError, hookimpl, user_cache_dir, write_json

SPLITS = ("train", "val", "test")
SHOWN = 3  # unreadable files named in the warning


@hookimpl
def zoo_register_datasets(register):
    register(
        "image_folder",
        load,
        description="Your own images (zoo train MODEL --data PATH): one sub-folder per class, "
        "PATH/CLASS/*.png, or PATH/train|val|test/CLASS/... for fixed splits; any image PIL reads.",
        reads_folder=True,
    )


class FolderSamples:
    """The image files of one split and their labels; ``key`` changes when any file does."""

    def __init__(self, files: list[str], labels: list[int], key: str) -> None:
        self.files, self.labels, self.key = files, labels, key

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import Image  # in the decoding worker

        path = self.files[index]
        try:
            image = Image.open(path)
            image.load()  # reads the pixels and closes the file
            return image, self.labels[index]
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ZooError(f"cannot read image {path}: {exc}") from None


def load(*, data_dir: Path | None = None, download: bool = True) -> SampleSet:
    if data_dir is None:
        raise ZooError("image_folder needs a folder of images: zoo train MODEL --data PATH")
    root = Path(data_dir)
    if not root.is_dir():
        raise ZooError(f"{root} is not a folder; --data takes a folder with one sub-folder per class")
    folders = _subfolders(root)
    splits = [name for name in SPLITS if name in folders]
    if not splits:
        classes = folders
        return SampleSet(train=_scan(root, classes), classes=tuple(classes))
    if "train" not in splits or set(folders) - set(SPLITS):
        raise ZooError(
            f"{root} has split folders ({', '.join(splits)}) "
            + (
                "but no train/"
                if "train" not in splits
                else f"beside others ({', '.join(set(folders) - set(SPLITS))})"
            )
            + ": use PATH/train/CLASS/... (val/ and test/ optional), or PATH/CLASS/... alone"
        )
    classes = _subfolders(root / "train")
    found = {name: _scan(root / name, classes) for name in splits}
    return SampleSet(
        train=found["train"], val=found.get("val"), test=found.get("test"), classes=tuple(classes)
    )


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan(folder: Path, classes: list[str]) -> FolderSamples:
    """Every readable image under ``folder/CLASS/`` (sub-folders included), labelled by class."""
    if len(classes) < 2:
        raise ZooError(
            f"{folder} has {len(classes)} class folder{'' if len(classes) == 1 else 's'}"
            f"{' (' + classes[0] + ')' if classes else ''}: put each class's images in its own "
            "sub-folder, at least two classes"
        )
    extra = sorted(set(_subfolders(folder)) - set(classes))
    if extra:
        raise ZooError(f"{folder} has class folders the training split lacks: {', '.join(extra)}")
    missing = [name for name in classes if not (folder / name).is_dir()]
    if missing:
        raise ZooError(
            f"{folder} has no folder for class {missing[0]!r}, which the training split has; every "
            "split needs a folder, with images, for every class"
        )
    listing: list[tuple[str, int]] = []  # paths relative to folder: strings, for speed at 100k files
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for label, name in enumerate(classes):
        for path, stat in sorted(_files(folder, name, set())):
            listing.append((path, label))
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    key = digest.hexdigest()
    unreadable = _unreadable(folder, [path for path, _ in listing], key)
    kept = [(path, label) for path, label in listing if path not in unreadable]
    present = {label for _, label in kept}
    for label, name in enumerate(classes):
        if label not in present:
            raise ZooError(f"class folder {folder / name} holds no readable images; add some or remove it")
    if unreadable:
        shown = ", ".join(str(folder / p) for p in sorted(unreadable)[:SHOWN]) + (
            " ..." if len(unreadable) > SHOWN else ""
        )
        warnings.warn(
            f"skipped {len(unreadable)} file(s) under {folder} that are not readable images: {shown}",
            stacklevel=2,
        )
    base = str(folder)
    return FolderSamples([os.path.join(base, path) for path, _ in kept], [label for _, label in kept], key)


def _files(folder: Path, relative: str, seen: set[tuple[int, int]]) -> Iterator[tuple[str, os.stat_result]]:
    """Every file under ``folder/relative`` that is not hidden, as a path relative to
    ``folder``, with its stat (one ``scandir`` pass, no Path objects). ``seen`` holds the folders
    walked so far: a link back to one of them (a loop) is one line, not endless recursion."""
    here = os.stat(folder / relative)
    if (here.st_dev, here.st_ino) in seen:
        raise ZooError(f"{folder / relative} links back to a folder already read (a loop); remove the link")
    seen.add((here.st_dev, here.st_ino))
    with os.scandir(folder / relative) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = f"{relative}/{entry.name}"
            if entry.is_dir():
                yield from _files(folder, path, seen)
            elif entry.is_file():
                yield path, entry.stat()


def _unreadable(folder: Path, files: list[str], key: str) -> set[str]:
    """The files PIL cannot open, found by opening each header once per state of the folder
    (``key``): the answer is kept in the zoo's data cache, so a later run only lists and stats."""
    from PIL import Image, UnidentifiedImageError

    remembered = user_cache_dir() / "folders" / f"{key[:40]}.json"
    try:
        return set(json.loads(remembered.read_text())["unreadable"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not scanned in this state yet, or the note is damaged: scan again
    found = set()
    for path in files:
        try:
            with Image.open(folder / path):
                pass
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            found.add(path)
    try:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        write_json(remembered, {"unreadable": sorted(found)})
    except OSError:
        pass  # a cache that cannot be written costs the next run a scan, nothing more
    return found
