"""ResNet-18/34 as in the lesson (convolution biases on), and a ResNet-18 for 28x28 images."""

from zoo_core import Recipe, hookimpl

from ..recipes import classic
from ..shipped_weights import shipped

# The classic course's ResNet run: plain SGD lr 0.05 at 96 pixels.
CLASSIC = classic(input_size=(96, 96), batch_size=256, lr=0.05)

# The reference fast recipe for the small-input ResNet: one-cycle Nesterov SGD, label smoothing,
# flips and shifts, flip test-time augmentation (0.950 test in 33 s on an H200).
FAST = Recipe(
    name="fast",
    dataset="fashion_mnist",
    input_size=(28, 28),
    batch_size=512,
    optimizer="sgd",
    lr=0.2,
    weight_decay=5e-4,
    schedule="onecycle",
    epochs=24,
    patience=None,
    augment=("flip", "shift"),
    tta=True,
    options={"momentum": 0.9, "nesterov": True, "label_smoothing": 0.1},
)

# The default: the fast recipe with random erasing, 80 epochs and a 10% validation split
# (0.956 test on an H200; the shipped weights).
ERASE = FAST.replace(name="erase", augment=("flip", "shift", "erase"), epochs=80, val_fraction=0.1)


@hookimpl
def zoo_register_models(register):
    register(
        "resnet18",
        "zoo_plugins.architectures.resnet.nets:resnet18",
        params=11_692_520,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="ResNet-18 as in the lesson: 7x7/2 stem with batch norm and max-pool, "
        "4 stages of 2 residual blocks (64-512 channels), convolution biases on.",
        tags=("lesson", "resnet"),
    )
    register(
        "resnet34",
        "zoo_plugins.architectures.resnet.nets:resnet34",
        params=21_804_392,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="ResNet-34 from the lesson's block builder: stages of 3, 4, 6, 3 residual "
        "blocks, convolution biases on.",
        tags=("resnet",),
    )
    register(
        "resnet18_small",
        "zoo_plugins.architectures.resnet.nets:resnet18_small",
        params=11_171_018,
        num_classes=10,
        in_channels=1,
        input_size=(28, 28),
        recipe=ERASE,
        recipes=(FAST,),
        weights=shipped("resnet18_small"),
        description="ResNet-18 for 28x28 images: 3x3 stride-1 stem, no max-pool, no "
        "convolution biases before batch norm; `width` sets the first stage's channels.",
        tags=("resnet", "fashion_mnist"),
    )
