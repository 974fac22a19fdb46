"""GoogLeNet with the lesson's Inception blocks (no auxiliary heads)."""

from zoo_core import hookimpl

from ..recipes import classic

# The classic course's GoogLeNet run: plain SGD lr 0.1 at 96 pixels.
CLASSIC = classic(input_size=(96, 96), batch_size=128, lr=0.1)


@hookimpl
def zoo_register_models(register):
    register(
        "googlenet",
        "zoo_plugins.architectures.googlenet.nets:googlenet",
        params=6_998_552,
        input_size=(224, 224),
        recipe=CLASSIC,
        description="GoogLeNet: 7x7/2 stem, 1x1 + 3x3 convolutions, Inception blocks 3a-3b, "
        "4a-4e, 5a-5b, global average pool, fc.",
        tags=("lesson",),
    )
