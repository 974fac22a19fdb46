"""VGG-11/13/16/19 from the lesson's block builder."""

from zoo_core import hookimpl

from ..recipes import classic

# The classic course's VGG run: plain SGD lr 0.05 at 224 pixels.
CLASSIC = classic(input_size=(224, 224), batch_size=128, lr=0.05)

# Parameter counts at 3x224x224 and 1000 classes; vgg16's is the lesson's.
PARAMS = {"vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240}


@hookimpl
def zoo_register_models(register):
    for name, params in PARAMS.items():
        register(
            name,
            f"zoo_plugins.architectures.vgg.nets:{name}",
            params=params,
            input_size=(224, 224),
            recipe=CLASSIC,
            description=f"VGG-{name[3:]}: blocks of 3x3 conv + relu and a 2x2 max-pool, "
            "fc4096-dropout x2, fc.",
            tags=("lesson",) if name == "vgg16" else (),
        )
