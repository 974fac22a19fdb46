"""The lesson's FashionCNN, as a Sequential so that per-layer summaries read like the lesson."""

from __future__ import annotations

from torch import nn


def fashion_cnn(*, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> nn.Module:
    """conv3x3(32)-relu-maxpool2, conv3x3(64)-relu-maxpool2, fc128-relu-dropout, fc.

    The adaptive pool is the identity at 28x28 and lets other input sizes reach the 7x7 the
    first fully connected layer expects.
    """
    model = nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d((7, 7)),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, num_classes),
    )
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model
