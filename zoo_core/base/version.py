"""The zoo's version, in a module of its own so that any layer can name it without importing
the package's public face (``zoo_core/__init__.py``)."""

__version__ = "0.4.0"

# The plugin API this release implements: the hooks, their register() arguments and the names
# plugins import from zoo_core. A plugin written for the previous minor version keeps working,
# with a DeprecationWarning saying what to change (CHANGELOG.md lists each change).
PLUGIN_API = "0.4"
