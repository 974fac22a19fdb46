"""Mixup for the zoo (Zhang et al., 2018): a batch augmentation any recipe can list, added
through ``zoo_register_augmentations``. Registering imports no torch; the augmentation itself
lives in :mod:`zoo_mixup.mixup` and is imported when a run uses it."""

from zoo_core import Option, hookimpl


@hookimpl
def zoo_register_augmentations(register):
    register(
        "mixup",
        "zoo_mixup.mixup:mixup",
        description="Mixup: each batch blended with a shuffled copy of itself, labels too.",
        options=(
            Option(
                "mixup_alpha", float, 0.2, "Beta(alpha, alpha) draws each batch's blend weight.", min=0.01
            ),
        ),
        keeps_labels=False,  # a blended image is no longer the image a teacher saw
    )
