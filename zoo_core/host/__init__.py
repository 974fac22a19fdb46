"""The plugin host: one registry and registrar for every kind of entry, the entry specs, the
loading and isolation of plugins, and the resolution of a recipe's training parts."""
