"""Exporting: the driver that hands a model to each exporter plugin, the calibration and
accuracy data exports are checked on, and the inference benchmark."""
