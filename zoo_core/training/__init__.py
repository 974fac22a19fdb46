"""Training: ``train`` a registered model with a recipe into a run folder, ``resume`` a stopped
run exactly. Imports torch; ``zoo_core`` itself does not import this package."""

from .loop import TrainingDiverged, resume, train
from .settings import Settings
from .trainer import Trainer

__all__ = ["Settings", "Trainer", "TrainingDiverged", "resume", "train"]
