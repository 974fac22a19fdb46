"""Training: ``train`` a registered model with a recipe into a run folder, ``resume`` a stopped
run exactly; ``TrainingSession`` is what a trainer plugin drives. Imports torch; ``zoo_core``
itself does not import this package."""

from .loop import resume, train
from .session import TrainingDiverged, TrainingEpoch, TrainingSession
from .settings import Settings

__all__ = ["Settings", "TrainingDiverged", "TrainingEpoch", "TrainingSession", "resume", "train"]
