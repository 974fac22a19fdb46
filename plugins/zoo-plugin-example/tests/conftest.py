"""The package's own tests run from a checkout too: for each test its folder comes first on the
path and the plugin is registered with the zoo's plugin host, as an installed entry point is."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from zoo_core.host import plugins

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.fixture
def tinynet_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(PACKAGE))
    import zoo_plugin_example

    if "tinynet" in {info.name for info in plugins.plugin_infos()}:  # installed: found by its entry point
        yield
        return
    host = plugins.get_host()
    host.register(zoo_plugin_example, "tinynet")
    try:
        yield
    finally:
        host.unregister("tinynet")
