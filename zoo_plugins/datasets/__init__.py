"""The zoo's built-in dataset plugins."""
