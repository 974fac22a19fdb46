"""`zoo info`'s measured facts (FLOPs, feature stages) are remembered per model and builder."""

from __future__ import annotations

import json

from zoo_core import get_model_spec
from zoo_core.cache import home
from zoo_core.facts import FACTS_FILE, model_facts

from .helpers import run_python

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
    env = {"ZOO_HOME": str(tmp_path / "home")}
    first = run_python("-c", NO_TORCH_INFO, env=env)
    second = run_python("-c", NO_TORCH_INFO, env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.split()[-1] == "True" and second.stderr.split()[-1] == "False"
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert json.loads(second.stdout)["flops"] > 0.9e9


def test_facts_are_measured_again_when_the_builder_changes() -> None:
    spec = get_model_spec("fashion_cnn")
    measured = model_facts(spec)
    stored = json.loads((home() / FACTS_FILE).read_text())
    stored["fashion_cnn"]["key"] = "an older version of the plugin"
    stored["fashion_cnn"]["facts"] = {"flops": 1, "feature_info": None}
    (home() / FACTS_FILE).write_text(json.dumps(stored))
    assert model_facts(spec) == measured  # not the stale entry
    assert json.loads((home() / FACTS_FILE).read_text())["fashion_cnn"]["facts"] == measured
