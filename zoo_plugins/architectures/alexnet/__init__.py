"""AlexNet as in the lesson (96-256-384-384-256 convolutions, two 4096 fully connected layers)."""

from zoo_core import hookimpl

from ..recipes import classic

# The classic course's AlexNet run: plain SGD lr 0.01 at 224 pixels.
CLASSIC = classic(input_size=(224, 224), batch_size=128, lr=0.01)


@hookimpl
def zoo_register_models(register):
    register(
        "alexnet",
        "zoo_plugins.architectures.alexnet.nets:alexnet",
        params=50_844_008,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="AlexNet: conv11x11/4(96), conv5x5(256), 3x conv3x3 (384, 384, 256) with "
        "max-pools, fc4096-dropout x2, fc.",
        tags=("lesson",),
    )
