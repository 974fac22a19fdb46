"""AlexNet as in the lesson (96-256-384-384-256 convolutions, two 4096 fully connected layers)."""

from zoo_core import Recipe, hookimpl

# The classic course's AlexNet run: Fashion-MNIST resized to 224, plain SGD lr 0.01, 10 epochs.
CLASSIC = Recipe(
    name="classic",
    dataset="fashion_mnist",
    input_size=(224, 224),
    batch_size=128,
    optimizer="sgd",
    lr=0.01,
    momentum=0.0,
    weight_decay=0.0,
    epochs=10,
    patience=None,
)


@hookimpl
def zoo_register_models(register):
    register(
        "alexnet",
        "zoo_plugins.alexnet.nets:alexnet",
        params=50_844_008,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="AlexNet: conv11x11/4(96), conv5x5(256), 3x conv3x3 (384, 384, 256) with "
        "max-pools, fc4096-dropout x2, fc.",
        tags=("lesson",),
    )
