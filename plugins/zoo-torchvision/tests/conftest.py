"""The package's own tests, run from a checkout (its folder first on the path, the plugin
registered with the zoo's plugin host as an installed entry point is) or installed beside the
zoo-core wheel; a private zoo cache and a CLI runner of their own, so they need nothing else."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zoo_core.cli import cli
from zoo_core.host import plugins

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def private_zoo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The catalogue, runs and caches go to a folder of the tests' own, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_HOME", str(tmp_path_factory.mktemp("zoo-home")))
        yield


@pytest.fixture
def zoo_cli() -> Callable[..., Result]:
    """Run ``zoo ARGS`` in-process and return click's result."""
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def torchvision_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(PACKAGE))
    import zoo_torchvision

    if "torchvision" in {info.name for info in plugins.plugin_infos()}:  # installed: its entry point
        yield
        return
    host = plugins.get_host()
    host.register(zoo_torchvision, "torchvision")
    try:
        yield
    finally:
        host.unregister("torchvision")


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME, with no network: a download fails as it does offline."""
    from urllib.error import URLError

    import torch

    def offline(url, *args, **kwargs):
        raise URLError(f"no network here (tests): {url}")

    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return home
