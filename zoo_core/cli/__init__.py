"""The ``zoo`` command: a thin click shell over the Python API. Each command module registers
its commands on the group in ``app``."""

from . import catalogue, export, hub, train
from .app import cli, main

__all__ = ["catalogue", "cli", "export", "hub", "main", "train"]
