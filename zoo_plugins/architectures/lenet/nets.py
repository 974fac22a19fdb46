"""LeNet-5 as the lesson builds it, with and without hand-written batch normalization."""

from __future__ import annotations

from torch import nn

from zoo_core import SequentialNet

from ..layers import FitPool2d
from .batch_norm import BatchNorm


def lenet5(*, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    return _lenet(num_classes, in_channels, batch_norm=False)


def lenet5_bn(*, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    return _lenet(num_classes, in_channels, batch_norm=True)


def _lenet(num_classes: int, in_channels: int, *, batch_norm: bool) -> nn.Module:
    def norm(features: int, num_dims: int) -> list[nn.Module]:
        return [BatchNorm(features, num_dims)] if batch_norm else []

    # The fit-pool is skipped at 28x28 and maps other input sizes to the 5x5 fc input.
    bn = 1 if batch_norm else 0
    return SequentialNet(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
        *norm(6, 4),
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        *norm(16, 4),
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        FitPool2d((5, 5)),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        *norm(120, 2),
        nn.Tanh(),
        nn.Linear(120, 84),
        *norm(84, 2),
        nn.Tanh(),
        nn.Linear(84, num_classes),
        head=6 + 2 * bn,
        stages=((str(2 + bn), 6, 2), (str(5 + 2 * bn), 16, 4)),
    )
