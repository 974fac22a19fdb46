"""Fashion-MNIST, the zoo's built-in dataset plugin, found offline first.

It registers through the ``zoo`` entry points like any third-party dataset plugin.

Where it looks, in order: ``--data-dir`` / ``$ZOO_DATA_DIR``, the user cache, Debian's
``dataset-fashion-mnist`` package (whose ``.gz`` files were recompressed, so torchvision's md5
check of them fails while the unpacked files are byte-identical: they are unpacked, not
checked), and last torchvision's download. The files are checked and mapped with numpy.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_core import DatasetNotFoundError, ImageSet, ZooError, hookimpl, user_cache_dir, write_bytes

if TYPE_CHECKING:
    import numpy as np

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


@hookimpl
def zoo_register_datasets(register):
    register(
        "fashion_mnist",
        load,
        classes=CLASSES,
        in_channels=1,
        image_size=(28, 28),
        mean=(0.5,),
        std=(0.5,),  # the lesson's Normalize(0.5, 0.5)
        description="Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images "
        "of 10 clothing classes.",
        default=True,  # zoo 0.1 trained every recipe on it: a recipe that names no dataset gets it
    )


def raw_folder(root: Path) -> Path:
    """Where torchvision's ``FashionMNIST(root)`` expects the four unpacked idx files."""
    return root / "FashionMNIST" / "raw"


def load(*, data_dir: Path | None = None, download: bool = True) -> ImageSet:
    roots = [data_dir] if data_dir is not None else []
    roots.append(user_cache_dir())
    root = next((r for r in roots if all((raw_folder(r) / f).is_file() for f in RAW_FILES)), None)
    if root is None:
        root = roots[0]
        if all((DEBIAN_DIR / f"{f}.gz").is_file() for f in RAW_FILES):
            unpack_debian(raw_folder(root))
        elif download:
            fetch(root)
        else:
            raise DatasetNotFoundError(not_found_message(roots, "downloading is off"))
    return read(root)


def unpack_debian(folder: Path) -> None:
    """Unpack Debian's recompressed files into ``folder`` (atomically, one file at a time)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        write_bytes(folder / name, gzip.decompress((DEBIAN_DIR / f"{name}.gz").read_bytes()))


def fetch(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(str(root), train=train, download=True)
    except Exception as exc:  # torchvision raises several kinds when offline
        raise DatasetNotFoundError(not_found_message([root], f"the download failed ({exc})")) from None


SPLIT_SIZES = {"train": 60_000, "t10k": 10_000}


def read(root: Path) -> ImageSet:
    """The four idx files under ``root``, checked (magic number, dimensions and length, so a
    damaged file is one error naming it) and mapped into memory: an unpacked idx file already
    is the decoded uint8 array, so it serves as its own decoded cache, read with numpy (no
    torchvision import) and never copied."""
    import torch  # heavy: only when the data is read

    arrays = {}
    for name in RAW_FILES:
        split, kind = name.split("-")[:2]
        dims = (SPLIT_SIZES[split], 28, 28) if kind == "images" else (SPLIT_SIZES[split],)
        arrays[f"{split}-{kind}"] = torch.from_numpy(read_idx(raw_folder(root) / name, dims))
    return ImageSet(
        arrays["train-images"].unsqueeze(1),
        arrays["train-labels"].long(),
        arrays["t10k-images"].unsqueeze(1),
        arrays["t10k-labels"].long(),
    )


def read_idx(path: Path, dims: tuple[int, ...]) -> np.ndarray:
    """An idx file of unsigned bytes with the dimensions ``dims`` (LeCun's MNIST format),
    mapped copy-on-write: writable for torch, the file itself untouched."""
    import numpy as np  # comes with torch

    header = 4 + 4 * len(dims)
    with path.open("rb") as file:
        head = file.read(header)
    size = path.stat().st_size
    found = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(len(dims)))
    why = None
    if len(head) < header or head[:4] != bytes((0, 0, 8, len(dims))):
        why = "not an idx file of unsigned bytes"
    elif found != dims:
        why = f"its dimensions are {found}, not {dims}"
    elif size != header + int(np.prod(dims)):
        why = f"it holds {size - header:,} bytes of data, not {int(np.prod(dims)):,}"
    if why:
        raise ZooError(
            f"{path} is damaged: {why}; delete it to have Fashion-MNIST unpacked or downloaded again"
        )
    return np.memmap(path, dtype=np.uint8, mode="c", offset=header, shape=dims)


def not_found_message(roots: list[Path], why: str) -> str:
    where = ", ".join(str(raw_folder(r)) for r in roots)
    return (
        f"Fashion-MNIST is not in {where} or {DEBIAN_DIR}, and {why}: install Debian's "
        "dataset-fashion-mnist package (apt-get install dataset-fashion-mnist), put the four idx "
        "files in one of those folders, or allow the download"
    )
