"""Atomic file output: write to a temporary file in the target's folder, then rename, so a
failure, a full disk or an interrupt never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import ZooError


@contextlib.contextmanager
def atomic_files(*, replace: bool = True) -> Iterator[Callable[[str | Path], Path]]:
    """Yield ``temporary(target)``, which hands out a temporary path beside ``target``. When the
    block succeeds every temporary file takes its target's name; when it raises, all are removed.
    ``replace=False``: a target that exists by then (another process wrote it meanwhile) is a
    ``FileExistsError``, never overwritten, and the files this call placed are taken back.

    An export uses it for a file and its sidecars (the ONNX parity report), so either all of
    them appear or none does."""
    pending: list[tuple[Path, Path]] = []

    def temporary(target: str | Path) -> Path:
        target = Path(target)
        folder = target.parent
        if not folder.is_dir():
            raise ZooError(f"output folder {folder} does not exist; create it or choose another")
        _sweep(folder)
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=folder)
        except OSError as exc:
            raise ZooError(f"cannot write to {folder}: {exc.strerror or exc}") from None
        os.close(fd)
        pending.append((Path(name), target))
        return Path(name)

    try:
        yield temporary
        mode = 0o666 & ~_umask()  # mkstemp made them private; give them a normal file's mode
        for tmp, _ in pending:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            tmp.chmod(mode)
        placed: list[Path] = []
        try:
            for tmp, target in pending:
                if replace:
                    os.replace(tmp, target)
                else:
                    _place_new(tmp, target)
                placed.append(target)
        except BaseException:
            for target in placed if not replace else ():
                target.unlink(missing_ok=True)
            raise
    except OSError as exc:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise _naming_target(exc, pending) from None
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise


def _naming_target(exc: OSError, pending: list[tuple[Path, Path]]) -> OSError:
    """``exc`` naming the file the user asked for instead of its temporary stand-in (which is
    gone): "cannot write model.pt: No space left on device", not a hidden name."""
    targets = {str(tmp): target for tmp, target in pending}
    named = targets.get(str(exc.filename)) if exc.filename else None
    if named is None and exc.filename is None and len(pending) == 1:
        named = pending[0][1]
    if named is None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(named))


def _place_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` only if no file has it: a hard link fails atomically
    when ``target`` exists (a file system without hard links gets a check, then a rename)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


STALE_SECONDS = 24 * 3600


def _sweep(folder: Path) -> None:
    """Remove this module's temporary files older than a day from ``folder``: left by a process
    killed outright (SIGKILL, a power cut), which had no chance to remove them itself."""
    cutoff = time.time() - STALE_SECONDS
    for path in folder.glob(".*.tmp*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it replaces ``target`` when the block succeeds
    and is removed when it raises."""
    with atomic_files() as temporary:
        yield temporary(target)


def folder_mode() -> int:
    """The mode a new folder gets from ``mkdir`` under the current umask (``mkdtemp``'s is private)."""
    return 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | Path, data: Any) -> None:
    """``data`` as indented JSON with a final newline, written atomically."""
    write_bytes(target, (json.dumps(data, indent=2) + "\n").encode())


HASH_SUFFIX = ".sha256"


@contextlib.contextmanager
def hashed_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path for ``target``; when the block succeeds, ``target`` appears together
    with ``target.sha256`` (a ``sha256sum`` line), so a cache can later tell what it wrote from
    a file that was truncated, replaced or damaged since (see :func:`hash_disagrees`)."""
    target = Path(target)
    with atomic_files() as temporary:
        tmp, record = temporary(target), temporary(target.with_name(target.name + HASH_SUFFIX))
        yield tmp
        record.write_text(f"{_sha256(tmp)}  {target.name}\n")


def hash_disagrees(target: str | Path) -> str | None:
    """Why ``target`` (written by :func:`hashed_file`) cannot be trusted, or ``None`` when its
    bytes still have the sha256 kept beside it."""
    target = Path(target)
    try:
        kept = target.with_name(target.name + HASH_SUFFIX).read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return "no sha256 is kept beside it"
    try:
        digest = _sha256(target)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    return None if digest == kept else "its sha256 is not the one kept beside it"


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
