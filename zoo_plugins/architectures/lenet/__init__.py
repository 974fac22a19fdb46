"""LeNet-5 as in the lesson (tanh, average pooling), and LeNet-5 with the lesson's batch
normalization written by hand."""

from zoo_core import Recipe, hookimpl

from ..recipes import one_cycle
from ..shipped_weights import shipped

# The lesson's recipe: its early stopping picked a model with 0.891 test accuracy on an H200.
LESSON = Recipe(name="lesson", dataset="fashion_mnist")
# One-cycle AdamW with flips and shifts. LeNet-5 underfits with shifts (0.8965 test) and
# overfits with flips over 60 epochs (0.8981), so the default keeps the flips for 30 epochs.
AUGMENTED = one_cycle(name="augmented", epochs=40)
FLIP = AUGMENTED.replace(name="flip", augment=("flip",), epochs=30)


@hookimpl
def zoo_register_models(register):
    common = dict(
        num_classes=10, in_channels=1, input_size=(28, 28), recipe=FLIP, recipes=(AUGMENTED, LESSON)
    )
    register(
        "lenet5",
        "zoo_plugins.architectures.lenet.nets:lenet5",
        weights=shipped("lenet5"),
        params=61_706,
        description="LeNet-5: conv5x5(6, pad 2)-tanh-avgpool, conv5x5(16)-tanh-avgpool, "
        "fc120-tanh, fc84-tanh, fc.",
        tags=("lesson", "fashion_mnist"),
        **common,
    )
    register(
        "lenet5_bn",
        "zoo_plugins.architectures.lenet.nets:lenet5_bn",
        weights=shipped("lenet5_bn"),
        params=62_158,
        description="LeNet-5 with the lesson's hand-written batch normalization after every "
        "convolution and hidden fully connected layer.",
        tags=("lesson", "fashion_mnist", "batchnorm"),
        **common,
    )
