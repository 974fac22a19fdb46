"""The bottom layer: errors, value checks, atomic file writes, plain-text tables and the version;
nothing here knows about models, plugins or torch."""
