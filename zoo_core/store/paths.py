"""Where the zoo keeps what it downloads and derives, and the switches a user sets in the
environment. Every path under the zoo's cache folder is spelled here and nowhere else:

    $ZOO_HOME/
        weights/            downloaded weights files, MODEL-TAG-SHA256[:12].safetensors
        hubs/               the last copy of each hub's manifest.json, by a hash of the hub
        data/               datasets and what plugins derive from them (user_cache_dir)
        data/decoded/       decoded image folders
        verified.json       the record of checked hashes (size and mtime per file)
        model-facts.json    FLOPs and stages measured per model
        errors/             tracebacks of unexpected errors
        locks/              one lock file per cached file being fetched, so one process fetches it

``ZOO_HOME`` moves the whole cache; by default it is the platform's user cache folder
(``~/.cache/zoo`` on Linux), as torch.hub keeps its files under ``TORCH_HOME``. ``ZOO_HUB``
names a hub to download weights from in place of the one each manifest names; ``ZOO_HUB_TOKEN``
is the bearer token of a private hub, sent to that hub's host only; ``ZOO_OFFLINE=1`` forbids
every download.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from platformdirs import user_cache_dir

HOME_ENV = "ZOO_HOME"
HUB_ENV = "ZOO_HUB"
HUB_TOKEN_ENV = "ZOO_HUB_TOKEN"
OFFLINE_ENV = "ZOO_OFFLINE"


def home() -> Path:
    """The zoo's cache folder: ``$ZOO_HOME``, else the platform's user cache folder for ``zoo``."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    return Path(user_cache_dir("zoo", appauthor=False))


def weights_cache() -> Path:
    """Downloaded weights files, each named after its model, tag and sha256."""
    return home() / "weights"


def hub_copies() -> Path:
    """The folder of kept hub manifests."""
    return home() / "hubs"


def hub_copy(hub: str) -> Path:
    """The kept copy of ``hub``'s manifest, named by a hash of the hub's address (an address
    never reaches a file name)."""
    return hub_copies() / f"{hashlib.sha256(hub.encode()).hexdigest()[:16]}.json"


def data_cache() -> Path:
    """Downloaded or unpacked datasets, and what plugins derive from them."""
    return home() / "data"


def decoded_cache() -> Path:
    """Decoded image folders."""
    return data_cache() / "decoded"


def verified_record() -> Path:
    """The record of files whose sha256 was checked, by size and mtime."""
    return home() / "verified.json"


def facts_cache() -> Path:
    """Facts measured on built models (``zoo info``)."""
    return home() / "model-facts.json"


def fetch_lock(cached: Path) -> Path:
    """The lock file taken while ``cached`` (a file in the cache) is fetched, or (for the
    record of checked files) updated."""
    return home() / "locks" / f"{cached.name}.lock"


def error_reports() -> Path:
    """Tracebacks of unexpected errors, one file each."""
    return home() / "errors"


def hub_override() -> str | None:
    """The hub ``ZOO_HUB`` names, if any."""
    return os.environ.get(HUB_ENV) or None


def hub_token() -> str | None:
    """The bearer token ``ZOO_HUB_TOKEN`` holds for a private hub, if any."""
    return os.environ.get(HUB_TOKEN_ENV, "").strip() or None


def offline() -> bool:
    """True when ``ZOO_OFFLINE`` forbids downloads (any value but empty, 0, false or no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")
