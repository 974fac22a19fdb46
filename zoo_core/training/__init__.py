"""Training: ``train`` a registered model with a recipe into a run folder, ``resume`` a stopped
run exactly; ``evaluate_weights`` tests trained weights; ``TrainingSession`` is what a trainer
plugin drives. Imports torch; ``zoo_core``
itself does not import this package."""

from .evaluation import evaluate_weights
from .loop import resume, train
from .session import TrainingDiverged, TrainingEpoch, TrainingSession
from .settings import Settings

__all__ = [
    "Settings",
    "TrainingDiverged",
    "TrainingEpoch",
    "TrainingSession",
    "evaluate_weights",
    "resume",
    "train",
]
