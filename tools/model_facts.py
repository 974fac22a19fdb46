"""Measure what `zoo info` shows of every built-in model that only a built model can tell (FLOPs,
feature stages) and ship it as ``zoo_plugins/model-facts.json``, so that `zoo info` answers
without importing torch even the first time. Run it after changing a builder or the version;
`tests/test_facts.py` fails while the file is stale.

    python tools/model_facts.py
"""

from __future__ import annotations

from pathlib import Path

import zoo_plugins
from zoo_core import get_model_spec, list_models, write_json
from zoo_core.models.facts import FACTS_FILE, facts_key, measure_facts

TARGET = Path(zoo_plugins.__file__).parent / FACTS_FILE


def main() -> None:
    facts = {}
    for name in list_models():
        spec = get_model_spec(name)
        if not str(spec.builder).startswith("zoo_plugins."):
            continue  # a third-party plugin's model ships its own facts, if any
        facts[name] = {"key": facts_key(spec), "facts": measure_facts(spec)}
        print(f"{name}: {facts[name]['facts']['flops']:,} FLOPs")
    write_json(TARGET, facts)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
