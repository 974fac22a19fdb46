"""Layers shared by the built-in architecture families."""

from __future__ import annotations

import torch
from torch import nn


class FitPool2d(nn.AdaptiveAvgPool2d):
    """Adaptive average pooling to a fixed feature-map size, skipped when the input already has
    that size: the lesson's networks at their own input size run exactly as the lesson wrote
    them, and other input sizes still reach the fully connected layers' expected shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.output_size if isinstance(self.output_size, tuple) else (self.output_size,) * 2
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return super().forward(x)
