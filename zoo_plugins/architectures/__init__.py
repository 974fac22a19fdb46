"""The zoo's built-in architecture plugins, one package per family.

Each package's ``__init__`` registers its models through the ``zoo_register_models`` hook without
importing torch; the networks live in a sibling ``nets`` module that the builder imports.
"""
