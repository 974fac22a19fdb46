"""The zoo's trained weights, installed: ``pip install 'zoo-core[weights]'``.

The package holds a hub (``hub/``: ``manifest.json`` and one bundle folder per model and tag,
exactly as ``zoo publish`` writes them) and declares it in the ``zoo.hubs`` entry-point group,
so the zoo finds these weights with no hub set and no network: ``zoo eval fashion_cnn
--weights fashion_mnist`` works right after the install. Nothing here is imported to find them.
"""
