"""An example third-party zoo plugin: registers ``tinynet``, a two-layer CNN for 28x28 images,
with trained weights listed in the package's own ``manifest.json``, and an ``npz``
export format."""

from pathlib import Path

from zoo_core import ExporterOption, Recipe, hookimpl, manifest_weights

# Package data, copied from the hub that `zoo publish` wrote (../hub/manifest.json); the weights
# file itself stays on the hub and is downloaded into the cache on first use.
MANIFEST = Path(__file__).resolve().with_name("manifest.json")


@hookimpl
def zoo_register_models(register):
    register(
        "tinynet",
        "zoo_plugin_example.nets:tinynet",
        params=1_418,
        num_classes=10,
        in_channels=1,
        input_size=(28, 28),
        recipe=Recipe(name="tiny", dataset="fashion_mnist", epochs=5, patience=None),
        weights=manifest_weights("tinynet", MANIFEST),
        description="A two-layer CNN from the example third-party plugin package.",
        tags=("example",),
    )


@hookimpl
def zoo_register_exporters(register):
    register(
        "npz",
        "zoo_plugin_example.npz:export_npz",
        suffix=".npz",
        description="The weights as a NumPy .npz archive with the metadata, read back before it is kept.",
        options=[ExporterOption("compress", bool, False, "Compress the arrays (numpy.savez_compressed).")],
    )
