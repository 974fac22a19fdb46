"""The zoo's version, in a module of its own so that any layer can name it without importing
the package's public face (``zoo_core/__init__.py``)."""

__version__ = "0.2.1"
