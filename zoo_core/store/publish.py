"""Handing trained weights on: publish a run to a hub folder, see what hubs offer and what this
machine holds, and re-check every local file.

A hub is a folder of bundles and one ``manifest.json``; a web server, a bucket or a release page
serves the folder as it is, and ``zoo pull`` / ``ZOO_HUB`` read it back over HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..base.atomic import write_bytes
from ..base.errors import HubError, WeightsError
from ..contract.run import BEST_FILE, ERRORS_FILE, REPORT_FILE
from ..contract.weights_info import WeightsInfo
from ..host.plugins import model_registry
from .bundle import STAGING_GLOB, WEIGHTS_FILE, bundle_place, write_bundle
from .download import MANIFEST, is_url
from .hub import cached_file, hub_entries, local_copy
from .hub_pages import FIGURE_SUFFIX, write_pages
from .manifest import CARDS, read_manifest, render_cards, write_manifest
from .paths import hub_copies, weights_cache
from .weights import read_header, verify

LOCK_FILE = ".publish.lock"
LOCK_SECONDS = 600  # another publish writing a large bundle holds the lock that long at most

REPORT_KEYS = ("epochs", "best_epoch", "train_seconds", "images_per_second", "device")


def publish(run: Path, *, tag: str, to: Path, license: str | None = None, force: bool = False) -> WeightsInfo:
    """Publish the best weights of the finished ``zoo train`` run folder ``run`` as bundle
    ``TO/MODEL/TAG/`` with the run's recipe and measured test metrics, add (or, with
    ``force``, replace) its entry in ``TO/manifest.json`` and write the hub's model cards,
    ``TO/cards.md``. Returns the new entry."""
    if is_url(str(to)):
        raise HubError(f"zoo publish writes to a folder, not to {to}; publish to a folder, then serve it")
    to = Path(to)
    best, report_file = run / BEST_FILE, run / REPORT_FILE
    if not best.is_file() or not report_file.is_file():
        raise WeightsError(
            f"{run} is not a finished `zoo train` run: it needs {best.name} and {report_file.name}"
        )
    try:
        report = json.loads(report_file.read_text())
        metrics = {
            k: float(v)
            for k, v in {**report, **report.get("tta", {})}.items()
            if k.startswith(("test_", "val_accuracy")) and k not in ("test_images", "test_report")
        }
    except (OSError, ValueError, AttributeError) as exc:
        raise WeightsError(f"{report_file} is not a run report: {exc}") from None
    info = WeightsInfo.from_metadata(read_header(best), where=str(best))
    entry = dataclasses.replace(
        info,
        tag=tag,
        metrics=metrics,
        params=_params(info),
        license=license or info.license,
        created=date.today().isoformat(),
        versions={**info.versions, **_plugin_version(info.model)},
        extra={**info.extra, "training_report": {k: report[k] for k in REPORT_KEYS if k in report}},
    )
    manifest = to / MANIFEST
    to.mkdir(parents=True, exist_ok=True)
    with _hub_lock(to):
        return _publish_locked(to, manifest, best, entry, force=force, figures=_figures(run))


@contextlib.contextmanager
def _hub_lock(hub: Path) -> Iterator[None]:
    """The hub's lock: its manifest and pages are read, changed and written back by one writer
    at a time, on this machine or any other that shares the folder (filelock's lock file, as
    huggingface_hub's cache uses)."""
    from filelock import FileLock, Timeout  # 20 ms: only when something is published, never on `zoo list`

    try:
        with FileLock(hub / LOCK_FILE, timeout=LOCK_SECONDS):
            yield
    except Timeout:
        raise HubError(
            f"another publish to {hub} held its lock ({LOCK_FILE}) for {LOCK_SECONDS} s; try again"
        ) from None


def _figures(run: Path) -> tuple[Path, ...]:
    """The pictures a run's loggers drew (its ``*.png`` files), shown on the bundle's page; not
    the worst mistakes, which show the data's own images (they stay in the run folder)."""
    private = ERRORS_FILE.format(suffix="*")
    return tuple(
        sorted(
            p
            for p in run.glob(f"*{FIGURE_SUFFIX}")
            if p.is_file() and not p.is_symlink() and not fnmatch.fnmatch(p.name, private)
        )
    )


def _publish_locked(
    to: Path, manifest: Path, best: Path, entry: WeightsInfo, *, force: bool, figures: tuple[Path, ...]
) -> WeightsInfo:
    """Publishing's read-modify-write of the manifest, under the hub's lock."""
    _sweep_staging(to)
    entries = read_manifest(manifest)
    if not force and any((e.model, e.tag) == (entry.model, entry.tag) for e in entries):
        raise WeightsError(f"{manifest} already has {entry.name}; choose another tag or use --force")
    place = bundle_place(entry.model, str(entry.tag))
    bundle = write_bundle(to / place, best, entry, force=force, figures=figures)
    published = dataclasses.replace(bundle, file=None, url=f"{place}/{WEIGHTS_FILE}")
    others = [e for e in entries if (e.model, e.tag) != (entry.model, entry.tag)]
    write_manifest(manifest, [*others, published])
    kept = read_manifest(manifest)
    if published not in kept:  # never report an entry that is not there
        raise HubError(f"{manifest} does not hold {entry.name} after it was written; publish again")
    write_bytes(to / CARDS, render_cards(kept).encode())
    write_pages(to, kept)
    return dataclasses.replace(published, file=bundle.file)


def index_hub(hub: Path) -> list[Path]:
    """Write ``hub``'s browsable pages (``index.html`` and one per bundle) from its manifest,
    under the publish lock; returns the pages."""
    manifest = hub / MANIFEST
    if not manifest.is_file():
        raise HubError(f"{hub} is not a hub folder: it has no {MANIFEST} (`zoo publish` writes one)")
    with _hub_lock(hub):
        return write_pages(hub, read_manifest(manifest))


def _sweep_staging(to: Path) -> None:
    """Remove the hidden folders a killed publish left in the hub: under the lock, no other
    publish is writing one."""
    for folder in to.glob(f"*/{STAGING_GLOB}"):
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _params(info: WeightsInfo) -> int | None:
    """The registered parameter count, when the weights have the registered configuration."""
    spec = model_registry().get(info.model)
    same = (info.num_classes, info.in_channels) == (spec.num_classes, spec.in_channels)
    return spec.params if same else None


def _plugin_version(model: str) -> dict[str, str]:
    origin = model_registry().get(model).origin
    if origin.distribution is None or origin.version is None:
        return {}
    return {origin.distribution.removesuffix(" (source tree)"): origin.version}


@dataclass(frozen=True)
class Offer:
    """One set of weights a hub or an installed plugin offers, and where this machine has it."""

    info: WeightsInfo
    where: str  # "checkout", "cache" or "-" (not on this machine)


def offers(hub: str | None = None, *, refresh: bool = True) -> list[Offer]:
    """What ``hub`` offers (read afresh), or without ``hub`` the weights every installed plugin
    registers; each with where this machine has its file."""
    entries = (
        hub_entries(hub, refresh=refresh)
        if hub
        else [w for name in model_registry().names() for w in model_registry().get(name).weights]
    )
    return [Offer(e, where(e)) for e in entries]


def where(info: WeightsInfo) -> str:
    """Where this machine has ``info``'s file: "checkout", "installed" (an installed hub such as
    zoo-core-weights), "cache", or "-" (not yet: a hub must send it)."""
    local = local_copy(info)
    return "-" if local is None else local[0]


@dataclass(frozen=True)
class Check:
    """The result of re-hashing one local weights file."""

    name: str
    file: Path
    problem: str | None


def verify_local() -> list[Check]:
    """Re-hash every weights file on this machine that an entry names (a registered one, or one
    of a hub this machine pulled from): the checkout's and the cache's copies, ignoring the
    record of earlier checks. A kept hub manifest that cannot be read, and a cached file that no
    entry names (so its sha256 is unknown), are failures too, never skipped in silence."""
    registered = [w for name in model_registry().names() for w in model_registry().get(name).weights]
    checks, pulled = [], []
    for kept in sorted(hub_copies().glob("*.json")):
        try:
            pulled += [dataclasses.replace(e, file=None) for e in read_manifest(kept)]
        except WeightsError as exc:
            problem = f"{exc}; pull again from that hub to replace this copy"
            checks.append(Check("a kept hub manifest", kept, problem))
    seen: set[Path] = set()
    for entry in [*registered, *pulled]:
        for path in (entry.file, cached_file(entry)):
            if path is None or not path.is_file() or path in seen:
                continue
            seen.add(path)
            try:
                verify(dataclasses.replace(entry, file=path), recheck=True)
                checks.append(Check(entry.name, path, None))
            except WeightsError as exc:
                checks.append(Check(entry.name, path, str(exc)))
    unknown = sorted(set(weights_cache().glob("*.safetensors")) - seen) if weights_cache().is_dir() else []
    checks += [
        Check(
            path.name,
            path,
            f"{path} is in the cache but no registered or pulled entry names it, so its sha256 is "
            "unknown: pull it again (`zoo pull`) or delete it",
        )
        for path in unknown
    ]
    return checks
