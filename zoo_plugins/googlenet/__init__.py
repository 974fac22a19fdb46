"""GoogLeNet with the lesson's Inception blocks (no auxiliary heads)."""

from zoo_core import Recipe, hookimpl

# The classic course's GoogLeNet run: Fashion-MNIST resized to 96, plain SGD lr 0.1, 10 epochs.
CLASSIC = Recipe(
    name="classic",
    dataset="fashion_mnist",
    input_size=(96, 96),
    batch_size=128,
    optimizer="sgd",
    lr=0.1,
    momentum=0.0,
    weight_decay=0.0,
    epochs=10,
    patience=None,
)


@hookimpl
def zoo_register_models(register):
    register(
        "googlenet",
        "zoo_plugins.googlenet.nets:googlenet",
        params=6_998_552,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="GoogLeNet: 7x7/2 stem, 1x1 + 3x3 convolutions, Inception blocks 3a-3b, "
        "4a-4e, 5a-5b, global average pool, fc.",
        tags=("lesson",),
    )
