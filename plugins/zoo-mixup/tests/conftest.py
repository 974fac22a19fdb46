"""The package's own tests run from a checkout too: its folder comes first on the path, and the
plugin is registered with the zoo's plugin host for each test (as an installed entry point is)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo_core.host import plugins


@pytest.fixture
def mixup_registered() -> Iterator[None]:
    import zoo_mixup

    host = plugins.get_host()
    if "mixup" not in {info.name for info in plugins.plugin_infos()}:  # not installed: register it
        host.register(zoo_mixup, "mixup")
        yield
        host.unregister("mixup")
    else:
        yield
