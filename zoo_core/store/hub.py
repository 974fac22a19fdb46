"""Where trained weights come from: the checkout's files, an installed hub's, the user cache,
then a hub.

A manifest entry (:class:`WeightsInfo`) names its file in a checkout (``file``) and where to
download it (``url``, relative to a hub base). :func:`locate` looks in that order and returns
the entry with ``file`` pointing at a local copy whose sha256 has been checked. A hub is any
static file host, an ``http(s)://`` or ``file://`` URL or a folder, whose ``manifest.json``
lists what it offers (``zoo publish`` writes one); :func:`hub_entries` reads it once and keeps a
copy in the cache for offline use.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

from ..base.atomic import write_bytes
from ..base.checks import path_name
from ..base.errors import HubError, WeightsError
from ..contract.weights_info import WeightsInfo
from ..host.plugins import installed_hubs
from .download import MANIFEST, fetch, is_url, join, read_bytes, shown
from .manifest import read_manifest
from .paths import OFFLINE_ENV, fetch_lock, hub_copies, hub_copy, hub_override, offline, weights_cache
from .weights import verify

FETCH_LOCK_SECONDS = 3600  # the longest another process may take to fetch one file


def cached_file(info: WeightsInfo) -> Path:
    """Where the cache keeps ``info``'s file: named after its model, tag and sha256, as
    torchvision names its files after their hash, so a re-published tag never collides."""
    if info.sha256 is None:
        raise WeightsError(f"{info.name} records no sha256, so it cannot be cached")
    return (
        weights_cache() / f"{path_name(info.model)}-{info.tag or 'untagged'}-{info.sha256[:12]}.safetensors"
    )


def local_copy(info: WeightsInfo) -> tuple[str, Path] | None:
    """Where this machine already has ``info``'s file and the file: "checkout", "installed"
    (an installed hub's), or "cache"; None if none has it."""
    for where, path in (
        ("checkout", info.file),
        ("installed", installed_copy(info)),
        ("cache", cached_file(info)),
    ):
        if path is not None and path.is_file():
            return where, path
    return None


def installed_copy(info: WeightsInfo) -> Path | None:
    """``info``'s file in an installed hub (``pip install 'zoo-core[weights]'``), found by the
    relative ``url`` its manifest gives; its sha256 is checked before it is used."""
    if info.url is None or is_url(info.url):
        return None
    for hub in installed_hubs():
        candidate = hub / info.url
        if candidate.is_file():
            return candidate
    return None


def locate(info: WeightsInfo, *, hub: str | None = None, progress: bool = True) -> WeightsInfo:
    """``info`` with ``file`` a local, sha256-checked copy: the checkout's file, else an
    installed hub's, else the cache's, else one downloaded from the hub into the cache."""
    if info.file is not None and info.file.is_file():
        verify(info)
        return info
    installed = installed_copy(info)
    if installed is not None:
        found = dataclasses.replace(info, file=installed)
        try:
            verify(found)
            return found
        except WeightsError:  # another file under that name: the hub's copy is fetched below
            pass
    from filelock import FileLock, Timeout  # 20 ms: only when a file may have to be fetched

    cached = dataclasses.replace(info, file=cached_file(info))
    lock = fetch_lock(cached.file)
    lock.parent.mkdir(parents=True, exist_ok=True)
    # One process fetches a file, the others wait and find it cached (two jobs on one machine,
    # every rank of `zoo train --nproc N --weights TAG` on an empty cache); filelock, as
    # huggingface_hub locks its cache.
    try:
        with FileLock(lock, timeout=FETCH_LOCK_SECONDS):
            if cached.file.is_file():
                try:
                    verify(cached)
                    return cached
                except WeightsError:
                    cached.file.unlink()  # damaged in the cache: fetch a good copy below
            fetch(
                source(info, hub),
                cached.file,
                sha256=info.sha256 or "",
                what=info.name,
                size=info.size,
                hub=hub or hub_override() or info.hub,
                progress=progress,
            )
            verify(cached)  # records the check, so the next load does not hash the file again
    except Timeout:
        raise HubError(
            f"{info.name}: another process held {lock} for {FETCH_LOCK_SECONDS} s while fetching it; "
            "try again, or delete that file if no zoo process is running"
        ) from None
    return cached


def source(info: WeightsInfo, hub: str | None = None) -> str:
    """The URL (or path) to download ``info``'s file from: its absolute ``url``, or its relative
    ``url`` under ``hub``, ``$ZOO_HUB`` or the hub its manifest names, in that order."""
    if info.url is None:
        raise HubError(
            f"{info.name}: its file is not on this machine ({info.file or cached_file(info)}) and its "
            "manifest gives no url to download it from"
        )
    if is_url(info.url):
        return info.url
    base = hub or hub_override() or info.hub
    if base is None:
        raise HubError(
            f"{info.name}: its file is not on this machine (nor in the cache, {weights_cache()}) and no "
            f"hub is set: set ZOO_HUB (or --hub) to a hub that holds {info.url}"
        )
    return join(base, info.url)


def hub_entries(hub: str, *, refresh: bool = False) -> list[WeightsInfo]:
    """Every entry of ``hub``'s manifest, each with its ``url`` resolved against ``hub``. The
    manifest is read once and kept in the cache; ``refresh`` reads it again (unless
    ``ZOO_OFFLINE`` is set and a copy is kept: then that copy is what this machine knows)."""
    kept = hub_copy(hub)
    fresh = not kept.is_file() or (refresh and not offline())
    if fresh:
        data = read_bytes(join(hub, MANIFEST), what=f"the manifest of hub {shown(hub)}", hub=hub)
        try:
            json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HubError(f"{shown(join(hub, MANIFEST))} is not a weights manifest: {exc}") from None
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(kept, data)
        write_bytes(kept.with_suffix(HUB_SUFFIX), shown(hub).encode())  # whence, for pulled_weights
    try:
        entries = read_manifest(kept, hub=hub)
    except WeightsError as exc:
        kept.unlink(missing_ok=True)
        if fresh:  # as the hub sent it: the hub's fault
            raise HubError(str(exc).replace(str(kept), shown(join(hub, MANIFEST)))) from None
        if offline():
            again = f"unset {OFFLINE_ENV} to read the hub again"
            raise HubError(f"{exc}; this damaged copy was removed: {again}") from None
        warnings.warn(f"{exc}; reading hub {shown(hub)} again", stacklevel=2)  # damaged here, not there
        return hub_entries(hub, refresh=True)
    return [dataclasses.replace(e, file=None) for e in entries]


HUB_SUFFIX = ".hub"  # beside a kept manifest: the hub it came from (without a password)


def pulled_weights(model: str, tag: str) -> WeightsInfo | None:
    """The entry ``model.tag`` of a hub this machine pulled it from, when its file is in the
    cache: a pulled tag is found again with no hub set (offline too)."""
    for kept in sorted(hub_copies().glob("*.json")):
        try:
            hub = kept.with_suffix(HUB_SUFFIX).read_text()
            entries = read_manifest(kept, hub=hub)
        except (OSError, UnicodeDecodeError, WeightsError):
            continue
        for entry in entries:
            if entry.model == model and entry.tag == tag and cached_file(entry).is_file():
                return dataclasses.replace(entry, file=None)
    return None


def hub_weights(model: str, tag: str, hub: str) -> WeightsInfo | None:
    """The entry ``model.tag`` of ``hub``'s manifest, if it has one (read again if the kept
    copy lacks it, since the hub may have gained it since)."""
    for refresh in (False, True):
        for entry in hub_entries(hub, refresh=refresh):
            if entry.model == model and entry.tag == tag:
                return entry
    return None
