"""The contract between the core and its plugins: the hooks and their ``register`` callbacks,
and the values that cross (recipes, weights metadata, runs, dataset and exporter types)."""
