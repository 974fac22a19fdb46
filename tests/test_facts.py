"""`zoo info`'s measured facts (FLOPs, feature stages): shipped for the built-in models,
remembered per model and builder for the others, measured again when a builder changes."""

from __future__ import annotations

import json

import pytest

from zoo_core import get_model_spec, list_models
from zoo_core.host import plugins
from zoo_core.models.facts import FACTS_FILE, facts_key, measure_facts, model_facts, shipped_facts
from zoo_core.store.paths import home

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


def test_a_first_zoo_info_of_a_built_in_model_imports_no_torch(tmp_path) -> None:
    result = run_python("-c", NO_TORCH_INFO, env={"ZOO_HOME": str(tmp_path / "fresh-home")})
    assert result.returncode == 0, result.stderr
    assert result.stderr.split()[-1] == "False"
    assert json.loads(result.stdout)["flops"] > 0.9e9


@pytest.mark.parametrize("name", list_models())
def test_the_shipped_facts_are_those_of_todays_builders(name: str) -> None:
    spec = get_model_spec(name)
    shipped = shipped_facts(spec).get(name)
    assert shipped is not None and shipped["key"] == facts_key(spec), (
        f"zoo_plugins/{FACTS_FILE} is stale for {name}: run python tools/model_facts.py"
    )
    if spec.params < 1_000_000:  # the small ones are measured again here; the key covers the rest
        assert measure_facts(spec) == shipped["facts"]


@pytest.fixture
def toy(fresh_plugins):
    """lenet5's builder registered under another name: no shipped facts hold it."""
    plugins.get_host().register(model_plugin("toy", "zoo_plugins.lenet.nets:lenet5", params=61706), "toys")
    return get_model_spec("toy")


def test_facts_of_other_models_are_measured_once_and_again_when_the_builder_changes(toy) -> None:
    measured = model_facts(toy)
    assert measured == shipped_facts(get_model_spec("lenet5"))["lenet5"]["facts"]
    stored = json.loads((home() / FACTS_FILE).read_text())
    assert stored["toy"] == {"key": facts_key(toy), "facts": measured}
    stored["toy"]["key"] = "an older version of the plugin"
    stored["toy"]["facts"] = {"flops": 1, "feature_info": None}
    (home() / FACTS_FILE).write_text(json.dumps(stored))
    assert model_facts(toy) == measured  # not the stale entry
    assert json.loads((home() / FACTS_FILE).read_text())["toy"]["facts"] == measured
