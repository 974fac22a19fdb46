"""`zoo info`'s measured facts (FLOPs, feature stages): measured once per model and builder,
remembered in the cache, measured again when a builder changes."""

from __future__ import annotations

import json

import pytest

from zoo_core import get_model_spec
from zoo_core.host import plugins
from zoo_core.models.facts import facts_key, measure_facts, model_facts
from zoo_core.store.paths import facts_cache

from .helpers import model_plugin, run_python

NO_TORCH_INFO = (
    "import sys\n"
    "from zoo_core.cli import cli\n"
    "try:\n"
    "    cli(['info', 'resnet18_small', '--json'])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('torch' in sys.modules, file=sys.stderr)\n"
)


def test_a_second_zoo_info_imports_no_torch(tmp_path) -> None:
    env = {"ZOO_HOME": str(tmp_path / "fresh-home")}
    first = run_python("-c", NO_TORCH_INFO, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.split()[-1] == "True"  # measured on the meta device
    second = run_python("-c", NO_TORCH_INFO, env=env)
    assert second.returncode == 0, second.stderr
    assert second.stderr.split()[-1] == "False"
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert json.loads(second.stdout)["flops"] > 0.9e9


@pytest.fixture
def toy(fresh_plugins):
    """lenet5's builder registered under another name."""
    builder = "zoo_plugins.architectures.lenet.nets:lenet5"
    plugins.get_host().register(model_plugin("toy", builder, params=61706), "toys")
    return get_model_spec("toy")


def test_facts_of_other_models_are_measured_once_and_again_when_the_builder_changes(toy) -> None:
    measured = model_facts(toy)
    assert measured == measure_facts(get_model_spec("lenet5"))
    stored = json.loads(facts_cache().read_text())
    assert stored["toy"] == {"key": facts_key(toy), "facts": measured}
    stored["toy"]["key"] = "an older version of the plugin"
    stored["toy"]["facts"] = {"flops": 1, "feature_info": None}
    facts_cache().write_text(json.dumps(stored))
    assert model_facts(toy) == measured  # not the stale entry
    assert json.loads(facts_cache().read_text())["toy"]["facts"] == measured
