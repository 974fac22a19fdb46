"""Shared fixtures: a CLI runner, a subprocess runner for cold starts, a clean plugin host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from zoo_core import plugins
from zoo_core.cli import cli


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
