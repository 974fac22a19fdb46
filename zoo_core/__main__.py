"""``python -m zoo_core`` runs the ``zoo`` CLI (torchrun launches the trainer this way)."""

from .cli import main

main()
