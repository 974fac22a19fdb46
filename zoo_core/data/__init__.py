"""Datasets as runs see them: lookup by name, decoded caches, device-resident splits and the
train/validation/test splits of a run."""
