"""Helpers shared by tests: a fresh Python process, and a one-model plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from zoo_core import Recipe, hookimpl

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the test interpreter in a fresh process (a cold start, with its own plugin state)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=300
    )


def model_plugin(name: str, builder: Any, **registration: Any) -> object:
    """A plugin registering one model ``name``: a 1x28x28, 10-class Fashion-MNIST model unless
    ``registration`` says otherwise (any keyword of ``register``)."""
    arguments = {
        "params": 1,
        "num_classes": 10,
        "in_channels": 1,
        "input_size": (28, 28),
        "recipe": Recipe(dataset="fashion_mnist"),
        "description": "A test model.",
        **registration,
    }

    class Plugin:
        @hookimpl
        def zoo_register_models(self, register):
            register(name, builder, **arguments)

    return Plugin()
