"""Shared fixtures: a private zoo cache, a CLI runner, a clean plugin host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from zoo_core.cli import cli
from zoo_core.host import plugins


@pytest.fixture(scope="session", autouse=True)
def private_zoo_home(tmp_path_factory) -> Iterator[None]:
    """Every test, and every process it starts, caches into a folder of its own: never the
    user's cache, and no hub or offline switch from the user's environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_HOME", str(tmp_path_factory.mktemp("zoo-home")))
        patch.delenv("ZOO_HUB", raising=False)
        patch.delenv("ZOO_OFFLINE", raising=False)
        yield


@pytest.fixture
def zoo_cli() -> callable:
    """Run ``zoo ARGS`` in-process and return click's result (exit code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Forget the loaded plugins before and after a test that registers its own."""
    plugins.reset()
    yield
    plugins.reset()
