"""The zoo's built-in logger plugins, on the trainer's hooks."""
