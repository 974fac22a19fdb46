"""The zoo's built-in plugins, shipped in the zoo-core wheel and found through the same ``zoo``
entry-point group as any third-party package, sorted by kind: ``architectures/<family>/``,
``datasets/``, ``exporters/``, ``loggers/`` and ``training/``."""
