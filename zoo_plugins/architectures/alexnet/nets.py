"""The lesson's AlexNet."""

from __future__ import annotations

from torch import nn

from zoo_core import SequentialNet

from ..layers import FitPool2d


def alexnet(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Module:
    """The fit-pool is skipped at 224x224 and maps other sizes to the 5x5 fc input."""
    return SequentialNet(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        FitPool2d((5, 5)),
        nn.Flatten(),
        nn.Linear(256 * 5 * 5, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
        head=13,
        stages=(("2", 96, 8), ("5", 256, 16), ("12", 256, 32)),
    )
