"""Knowledge distillation as a trainer: the student learns from the labels and from a trained
teacher's softened outputs (Hinton et al., 2015). ``zoo train STUDENT --teacher MODEL:WEIGHTS``
(this plugin's shorthand for its ``distill_teacher`` option) picks it."""

from zoo_core import Option, ZooError, get_weights, hookimpl


def check_teacher(reference: str) -> None:
    """The teacher is MODEL:WEIGHTS and those weights exist (before any data is read)."""
    model, colon, weights = reference.partition(":")
    if not colon or not model or not weights:
        raise ValueError(
            "the distill trainer needs a teacher as MODEL:WEIGHTS (e.g. resnet18_small:fashion_mnist), "
            f"got {reference!r}; give --teacher"
        )
    try:
        get_weights(model, weights)
    except ZooError as exc:
        raise ValueError(f"teacher {reference}: {exc}") from None


@hookimpl
def zoo_register_trainers(register):
    register(
        "distill",
        "zoo_plugins.training.distill.trainer:train",
        description="Knowledge distillation: the recipe's loss on the labels plus a KL term towards "
        "a trained teacher's softened outputs.",
        options=(
            Option(
                "distill_teacher",
                str,
                "",
                "The teacher as MODEL:WEIGHTS (a tag, a .safetensors file or a bundle folder), "
                "e.g. resnet18_small:fashion_mnist.",
                validate=check_teacher,
                flag="teacher",
            ),
            Option(
                "distill_temperature",
                float,
                4.0,
                "Temperature both models' logits are divided by in the distillation term.",
                min=0.1,
            ),
            Option(
                "distill_alpha",
                float,
                0.5,
                "Weight of the distillation term; the loss on the labels gets the rest.",
                min=0,
                max=1,
            ),
            Option(
                "distill_cache",
                bool,
                True,
                "Compute the teacher's logits once per training image, on the image as stored, "
                "when every augmentation keeps labels (flip, shift, erase do; mixup does not), and "
                "keep them in the zoo's cache for later runs on the same images; otherwise the "
                "teacher sees each augmented batch.",
            ),
        ),
    )
