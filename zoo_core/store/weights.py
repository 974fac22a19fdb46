"""Weights files: safetensors with a string header, written atomically, read without pickle,
and checked against their recorded sha256 before they are used.

What a header says is :class:`~zoo_core.contract.weights_info.WeightsInfo`'s business; this module only
moves tensors and strings to and from disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError

from ..base.atomic import atomic_path, write_json
from ..base.errors import WeightsError, ZooError
from ..contract.weights_info import WeightsInfo
from .paths import fetch_lock, verified_record

if TYPE_CHECKING:
    import torch


def save_weights(
    state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str]
) -> str:
    """Write ``state_dict`` (copied to the CPU, contiguous) to ``path``; return the file's sha256."""
    from safetensors.torch import save  # imports torch: only when weights are written

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    # serialised in memory, so a full disk is an OSError naming ``path``, not a SafetensorError
    data = _sorted_header(save(tensors, metadata={k: str(v) for k, v in metadata.items()}))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _sorted_header(data: bytes) -> bytes:
    """``data`` (a safetensors file) with its JSON header's keys sorted: safetensors writes them
    in hash-map order, which differs from process to process, so the same weights would get
    another sha256 each time. The tensors' offsets count from the end of the header, so they hold;
    the header is padded with spaces to a multiple of 8 bytes, as safetensors pads it."""
    size = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8 : 8 + size]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data[8 + size :]


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: its tensors and its header."""
    from safetensors.torch import load_file  # imports torch: only when weights are read

    header = read_header(path)
    try:
        return load_file(str(path)), header
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file: {exc}") from None


MAX_HEADER = 100 << 20  # bytes: safetensors' own limit on a header


def read_header(path: str | Path) -> dict[str, str]:
    """A safetensors file's header (its string metadata), without reading the tensors. Read
    here (eight bytes of length, then JSON) rather than with ``safe_open``, which needs numpy or
    torch for a header that needs neither: ``zoo list`` and ``torch.hub`` stay light."""
    path = _existing(path)
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 2 <= size <= MAX_HEADER:
                raise ValueError(f"its header claims {size:,} bytes")
            text = handle.read(size)
        if len(text) != size:
            raise ValueError("it is shorter than its header says")
        header = json.loads(text)
        metadata = header.get("__metadata__") or {} if isinstance(header, dict) else None
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ValueError("its header is not a safetensors header")
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file: {exc}") from None
    return dict(metadata)


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify(info: WeightsInfo, *, recheck: bool = False) -> None:
    """Refuse weights whose file is missing or whose sha256 differs from the recorded one.

    A file whose size, modification time and inode change time are those it had when it last
    passed is not hashed again (``recheck`` hashes it anyway), so loading cached weights costs no
    more than reading them; ``zoo weights verify`` re-hashes every file. The change time is the
    kernel's: a file edited in place and given back its old modification time is hashed again,
    and one that fails is forgotten, so no later load takes it on trust.
    """
    if info.file is None or info.sha256 is None:
        raise WeightsError(f"{info.name} records no file and sha256 to check")
    if not info.file.is_file():
        raise WeightsError(f"weights file {info.file} of {info.name} is missing")
    stat = info.file.stat()
    key, seen = str(info.file.resolve()), [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, info.sha256]
    memo = _read_memo()
    if not recheck and memo.get(key) == seen:
        return
    digest = file_sha256(info.file)
    if digest != info.sha256:
        if key in memo:
            _remember(key, None)
        raise WeightsError(
            f"{info.file} fails its sha256 check (expected {info.sha256[:12]}..., file {digest[:12]}...): "
            "it is corrupted or was changed; restore it or download it again"
        )
    _remember(key, seen)


MEMO_LOCK_SECONDS = 10.0


def _remember(key: str, seen: list | None) -> None:
    """Record (or, with ``seen`` None, forget) one file's check: read, changed and written under
    a lock, so that processes checking other files at the same time lose none of each other's
    records. A cache that cannot be written, or a lock held too long, only costs a re-hash."""
    from filelock import FileLock, Timeout  # only after a file was hashed, never on a cached load

    lock = fetch_lock(_memo_path())
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(lock, timeout=MEMO_LOCK_SECONDS):
            memo = _read_memo()
            if seen is None:
                memo.pop(key, None)
            else:
                memo[key] = seen
            write_json(_memo_path(), memo)
    except (OSError, ZooError, Timeout):
        pass


def _memo_path() -> Path:
    return verified_record()


def _read_memo() -> dict[str, list]:
    """Files that passed their sha256 check, by path: [size, mtime_ns, ctime_ns, sha256] then."""
    try:
        memo = json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "does not exist"
        raise WeightsError(f"weights file {path} {what}")
    return path
