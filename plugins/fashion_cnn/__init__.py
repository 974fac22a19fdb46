"""The lesson's small Fashion-MNIST CNN (92.3% test accuracy in the lesson)."""

from zoo_core import Recipe, hookimpl

LESSON = Recipe(name="lesson")


@hookimpl
def zoo_register_models(register):
    register(
        "fashion_cnn",
        "plugins.fashion_cnn.nets:fashion_cnn",
        params=421_642,
        num_classes=10,
        in_channels=1,
        input_size=(28, 28),
        recipe=LESSON,
        description="Two 3x3 conv + max-pool stages (32, 64 channels), fc128 with dropout 0.5, "
        "kaiming init: the lesson's Fashion-MNIST network.",
        tags=("lesson", "fashion_mnist"),
    )
