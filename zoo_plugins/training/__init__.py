"""The built-in training parts, registered through the same hooks a third-party plugin uses:
Adam, AdamW and SGD; constant, one-cycle and cosine schedules; cross-entropy; the flip, shift
and erase batch augmentations; and the default training loop. Adam, the constant schedule,
cross-entropy and the supervised loop are the parts a recipe gets when it names none."""

from zoo_core import Option, hookimpl

OPTIM = "zoo_plugins.training.optim"
AUGMENT = "zoo_plugins.training.augmentations"


@hookimpl
def zoo_register_optimizers(register):
    register(
        "adam", f"{OPTIM}:adam", description="Adam with the recipe's lr and L2 weight_decay.", default=True
    )
    register("adamw", f"{OPTIM}:adamw", description="AdamW: Adam with decoupled weight_decay.")
    register(
        "sgd",
        f"{OPTIM}:sgd",
        description="SGD with the recipe's lr and weight_decay.",
        options=(
            Option("momentum", float, 0.9, "SGD's momentum factor.", min=0, validate=_below_one("momentum")),
            Option("nesterov", bool, False, "Nesterov momentum (needs a momentum > 0)."),
        ),
    )


@hookimpl
def zoo_register_schedules(register):
    register("constant", f"{OPTIM}:constant", description="The recipe's lr for every step.", default=True)
    register(
        "onecycle",
        f"{OPTIM}:onecycle",
        description="One cycle: lr rises linearly to the recipe's lr, then falls linearly to near 0.",
        options=(
            Option("onecycle_warmup", float, 0.25, "Share of the steps spent rising.", min=0.01, max=0.99),
        ),
    )
    register("cosine", f"{OPTIM}:cosine", description="Cosine annealing from the recipe's lr to 0.")


@hookimpl
def zoo_register_losses(register):
    register(
        "cross_entropy",
        f"{OPTIM}:cross_entropy",
        description="Cross-entropy (hard or soft targets).",
        options=(
            Option(
                "label_smoothing",
                float,
                0.0,
                "Share of each target spread evenly over the classes.",
                min=0,
                validate=_below_one("label_smoothing"),
                flag="label-smoothing",
            ),
        ),
        default=True,
    )


@hookimpl
def zoo_register_augmentations(register):
    register(
        "flip",
        f"{AUGMENT}:flip",
        description="Mirror each image left-right with probability 1/2.",
        mirrors=True,
    )
    register(
        "shift",
        f"{AUGMENT}:shift",
        description="Move each image up to 1/14 of its width each way (2 pixels at 28), filling with black.",
    )
    register(
        "erase",
        f"{AUGMENT}:erase",
        description="Random erasing: one rectangle of each image set to the dataset mean.",
        options=(Option("erase_p", float, 0.5, "Probability that an image gets a rectangle.", min=0, max=1),),
    )
    register(
        "random_resized_crop",
        f"{AUGMENT}:random_resized_crop",
        description="A random part of each image (scale and aspect ratio drawn, as torchvision's "
        "RandomResizedCrop), resized back to the input size: the standard photo augmentation.",
        options=(
            Option(
                "crop_scale_min", float, 0.08, "Smallest share of the image a crop keeps.", min=0.01, max=1
            ),
        ),
    )
    register(
        "color_jitter",
        f"{AUGMENT}:color_jitter",
        description="Random brightness, contrast and saturation of each image (torchvision's ColorJitter).",
        options=(
            Option(
                "color_jitter", float, 0.4, "How far each of the three may move (0.4: 60% to 140%).", min=0
            ),
        ),
    )
    register(
        "trivial_augment",
        f"{AUGMENT}:trivial_augment",
        description="One random operation of random strength per image (torchvision's TrivialAugmentWide).",
    )


@hookimpl
def zoo_register_trainers(register):
    register(
        "default",
        "zoo_plugins.training.default:train",
        description="Supervised training: the recipe's loss on each augmented batch, a step per batch.",
        default=True,
    )


def _below_one(name: str):
    def check(value: float) -> None:
        if value >= 1:
            raise ValueError(f"option {name!r} must be below 1, got {value!r}")

    return check
