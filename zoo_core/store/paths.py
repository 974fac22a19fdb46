"""Where the zoo keeps what it downloads, and the switches a user sets in the environment.

``ZOO_HOME`` moves the whole cache (weights, hub manifests, datasets, the record of checked
hashes); by default it is the platform's user cache folder (``~/.cache/zoo`` on Linux), as
torch.hub keeps its files under ``TORCH_HOME``. ``ZOO_HUB`` names a hub to download weights
from in place of the one each manifest names; ``ZOO_OFFLINE=1`` forbids every download.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

HOME_ENV = "ZOO_HOME"
HUB_ENV = "ZOO_HUB"
OFFLINE_ENV = "ZOO_OFFLINE"


def home() -> Path:
    """The zoo's cache folder: ``$ZOO_HOME``, else the platform's user cache folder for ``zoo``."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    return Path(user_cache_dir("zoo", appauthor=False))


def weights_cache() -> Path:
    """Downloaded weights files, each named after its model, tag and sha256."""
    return home() / "weights"


def hub_override() -> str | None:
    """The hub ``ZOO_HUB`` names, if any."""
    return os.environ.get(HUB_ENV) or None


def offline() -> bool:
    """True when ``ZOO_OFFLINE`` forbids downloads (any value but empty, 0, false or no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")
