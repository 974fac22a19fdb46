"""Fetching a file from a hub into the cache, checked before it is kept.

A hub is any static file host: an ``http(s)://`` URL, a ``file://`` URL or a folder. Built on
``urllib`` (with a tqdm progress bar) rather than pooch or ``torch.hub.download_url_to_file``
because both restart a cut download from its first byte; here the bytes received so far wait in
``NAME.part`` beside the target and the next attempt asks for the rest with an HTTP ``Range``
request. The sha256 is checked before the file takes its final name, so a complete-looking file
in the cache is always a verified one, and a tampered download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from ..base.errors import HubError
from ..base.version import __version__
from .paths import OFFLINE_ENV, hub_token, offline

if TYPE_CHECKING:
    from tqdm import tqdm

ATTEMPTS = 3  # a transfer cut this many times in a row is an error; each retry resumes
TIMEOUT = 30.0  # seconds without a byte before a transfer counts as cut
BLOCK = 1 << 20
MAX_MANIFEST = 64 << 20  # bytes: a manifest of this size lists hundreds of thousands of weights
MANIFEST = "manifest.json"  # the file a hub folder lists its weights in
MAX_FILE = 16 << 30  # bytes: the most a file of unknown size may take (no manifest says otherwise)


# what stays as it is when a hub's address is encoded: the URL syntax and existing escapes
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https", "file")


def join(base: str, relative: str) -> str:
    """``relative`` (a manifest's ``url``, a path: ``MODEL/TAG/model.safetensors``) under the hub
    ``base`` (a URL or a folder). In a URL both are percent-encoded, so a tag such as
    ``v1#beta``, ``my tag`` or ``café`` and a hub path with a space reach the server as
    themselves; escapes already in ``base`` are kept. A hub given as its manifest's address
    (``.../manifest.json``) is taken as the folder that holds it."""
    if base.endswith(f"/{MANIFEST}"):
        base = base[: -len(MANIFEST)]
    if is_url(base):
        return urljoin(quote(base, safe=URL_SAFE).rstrip("/") + "/", quote(relative, safe="/"))
    return str(Path(base) / relative)


def read_bytes(location: str, *, what: str, hub: str | None = None) -> bytes:
    """A small file (a hub's manifest) from a URL or a path, at most ``MAX_MANIFEST`` bytes; one
    ``HubError`` line if it fails or is larger."""
    _refuse_offline(location, what=what, target=None)
    limit = MAX_MANIFEST
    path = _local_path(location)
    try:
        if path is not None:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        else:
            with _open(location, hub=hub) as response:
                data = response.read(limit + 1)
    except FileNotFoundError:
        raise HubError(f"{what}: {location} does not exist") from None
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        if path is not None and isinstance(exc, OSError):
            raise HubError(f"{what}: cannot read {location}: {exc.strerror or exc}") from None
        raise HubError(f"{what}: {_reason(location, exc)}") from None
    if len(data) > limit:
        raise HubError(f"{what}: {location} is larger than {limit >> 20} MiB, more than any manifest needs")
    return data


def fetch(
    location: str,
    target: Path,
    *,
    sha256: str,
    what: str,
    size: int | None = None,
    hub: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``location`` to ``target``, resuming a partial download, and keep it only if its
    sha256 is ``sha256``; a source that sends more than ``size`` bytes (what the manifest says,
    else a sane limit) is cut off and nothing is kept. ``hub``: the hub the file comes from,
    whose host alone gets ``ZOO_HUB_TOKEN``. Returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)  # ready for a copy placed by hand, too
    _refuse_offline(location, what=what, target=target)
    part = target.with_name(target.name + ".part")
    path = _local_path(location)
    try:
        if path is not None:
            digest = _copy(path, part, what=what, location=location)
        else:
            by_hand, limit = _by_hand(location, target), size or MAX_FILE
            digest = _download(
                location, part, what=what, limit=limit, hub=hub, progress=progress, by_hand=by_hand
            )
    except CannotWrite as exc:  # a full disk or a quota: no retry helps, and no .part may stay
        part.unlink(missing_ok=True)
        raise OSError(exc.error.errno, exc.error.strerror, str(target)) from None
    if digest != sha256:
        part.unlink(missing_ok=True)
        raise HubError(
            f"{what}: {location} fails its sha256 check (expected {sha256[:12]}..., got {digest[:12]}...); "
            "nothing was kept. The hub's copy is corrupted or was changed."
        )
    os.replace(part, target)
    return target


def _download(
    url: str, part: Path, *, what: str, limit: int, hub: str | None, progress: bool, by_hand: str
) -> str:
    """Fill ``part`` with ``url``'s bytes, resuming from what it holds; retry cut transfers.
    Returns the sha256 of the whole file."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _transfer(url, part, limit=limit, hub=hub, progress=progress)
        except TooLarge:
            part.unlink(missing_ok=True)
            raise HubError(
                f"{what}: {url} sent more than the {limit:,} bytes its manifest gives; nothing was kept"
            ) from None
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # the partial file is no prefix of this one: start again
                part.unlink(missing_ok=True)
                continue
            raise HubError(f"{what}: {_reason(url, exc)}") from None
        except (urllib.error.URLError, HTTPException, OSError) as exc:
            cut = not isinstance(exc, urllib.error.URLError) or isinstance(exc.reason, TimeoutError)
            if attempt == ATTEMPTS or not (cut and part.exists()):
                raise HubError(f"{what}: {_reason(url, exc)}; {by_hand}") from None
    raise HubError(f"{what}: {url} could not be downloaded in {ATTEMPTS} attempts")


class TooLarge(Exception):
    """A transfer went past the size it may have."""


class CannotWrite(Exception):
    """Writing the received bytes failed; unlike a cut transfer, a retry cannot help."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    """Turn an ``OSError`` of the block (which writes, never reads the network) into ``CannotWrite``."""
    try:
        yield
    except OSError as exc:
        raise CannotWrite(exc) from None


def _transfer(url: str, part: Path, *, limit: int, hub: str | None, progress: bool) -> str:
    """One request for the bytes ``part`` lacks; the file's sha256, hashed as it is written."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with _open(url, headers, hub=hub) as response:
        resumed = response.status == 206
        digest = _hash_of(part) if resumed else hashlib.sha256()
        length = response.headers.get("Content-Length")
        total = (int(length) if length and length.isdigit() else None, have if resumed else 0)
        with _writing():
            out = open(part, "ab" if resumed else "wb")  # noqa: SIM115 (closed below, errors mapped)
        with out, _bar(url, total, progress) as bar:
            for block in _blocks(response):
                if out.tell() + len(block) > limit:
                    raise TooLarge
                with _writing():
                    out.write(block)
                    out.flush()
                digest.update(block)
                bar.update(len(block))
            expected = total[0]
            if expected is not None and out.tell() - total[1] != expected:
                raise HTTPException(f"the transfer stopped after {out.tell():,} bytes")
    return digest.hexdigest()


def _hash_of(path: Path) -> hashlib._Hash:
    """The running sha256 of what a resumed download already has."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256")


def _blocks(response: HTTPResponse) -> Iterator[memoryview]:
    """The response's bytes, block by block, in one reused buffer (no fresh megabyte per read):
    each block is valid until the next is asked for."""
    buffer = memoryview(bytearray(BLOCK))
    while size := response.readinto(buffer):
        yield buffer[:size]


def _bar(url: str, total: tuple[int | None, int], progress: bool) -> tqdm:
    from tqdm import tqdm  # only when something is downloaded

    size, start = total
    return tqdm(
        total=None if size is None else size + start,
        initial=start,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=Path(urlsplit(url).path).name,
        disable=not progress or None,
        leave=False,
    )


def _copy(path: Path, part: Path, *, what: str, location: str) -> str:
    """Copy a file from a folder hub; returns its sha256, hashed as it is copied."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            with _writing():
                out = open(part, "wb")  # noqa: SIM115 (closed below, errors mapped)
            with out:
                for block in iter(lambda: source.read(BLOCK), b""):
                    with _writing():
                        out.write(block)
                        out.flush()
                    digest.update(block)
        return digest.hexdigest()
    except FileNotFoundError:
        part.unlink(missing_ok=True)
        raise HubError(f"{what}: {location} does not exist") from None
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise HubError(f"{what}: cannot copy {location}: {exc.strerror or exc}") from None


def _open(url: str, headers: dict[str, str] | None = None, *, hub: str | None = None) -> HTTPResponse:
    """A GET of ``url``; ``ZOO_HUB_TOKEN`` goes with it as a bearer token when ``url`` is on the
    host of ``hub``, and with a redirect only to that same host (an unredirected header)."""
    request = urllib.request.Request(url, headers={"User-Agent": f"zoo/{__version__}", **(headers or {})})
    token = hub_token()
    if token and hub and is_url(hub) and _host(url) == _host(hub):
        request.add_unredirected_header("Authorization", f"Bearer {token}")
        request.zoo_token_host = _host(hub)  # type: ignore[attr-defined]
    try:
        return _OPENER.open(request, timeout=TIMEOUT)
    except urllib.error.URLError as exc:  # name where a redirect led, not only where it began
        exc.zoo_url = getattr(request, "zoo_redirected_to", url)  # type: ignore[attr-defined]
        raise


def _host(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.rpartition("@")[2].lower()


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, handing the hub's token on only to its own host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        origin = getattr(req, "zoo_origin", req)
        origin.zoo_redirected_to = newurl
        if new is not None:
            new.zoo_origin = origin
        host = getattr(req, "zoo_token_host", None)
        if new is not None and host is not None and _host(newurl) == host:
            new.add_unredirected_header("Authorization", req.unredirected_hdrs["Authorization"])
            new.zoo_token_host = host
        return new


_OPENER = urllib.request.build_opener(_SameHostRedirects)


def _local_path(location: str) -> Path | None:
    """The file a ``file://`` URL or a plain path names; None for an ``http(s)://`` URL."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    return None if parts.scheme in ("http", "https") else Path(location)


def _reason(url: str, exc: BaseException) -> str:
    reached = getattr(exc, "zoo_url", url)
    url = shown(reached) if reached == url else f"{shown(reached)} (redirected from {shown(url)})"
    if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403):
        given = "the token in ZOO_HUB_TOKEN was refused" if hub_token() else "this hub needs a token"
        return (
            f"{url} answered HTTP {exc.code} {exc.reason}: {given}; set ZOO_HUB_TOKEN (or give "
            "--hub-token-file) to a token the hub accepts"
        )
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url} answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach {url}: {getattr(exc.reason, 'strerror', None) or exc.reason}"
    return f"the transfer of {url} was cut: {exc}"


def _by_hand(url: str, target: Path) -> str:
    return f"to place it by hand, download {shown(url)} to {target}"


def shown(url: str) -> str:
    """``url`` as messages print it: without a user name and password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _refuse_offline(location: str, *, what: str, target: Path | None) -> None:
    if offline() and is_url(location) and urlsplit(location).scheme != "file":
        where = f"; {_by_hand(location, target)}" if target is not None else ""
        raise HubError(f"{what} is not cached and {OFFLINE_ENV} forbids downloading {location}{where}")
