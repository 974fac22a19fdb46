"""ResNets from the lesson's ``Residual`` block and ``resnet_block`` stage builder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo_core import SequentialNet


class Residual(nn.Module):
    """Two 3x3 convolutions with batch norm; a 1x1 convolution on the shortcut when the shape
    changes."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        *,
        use_1x1conv: bool = False,
        stride: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1, stride=stride, bias=bias)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.conv3 = nn.Conv2d(in_channels, channels, 1, stride=stride, bias=bias) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(channels)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


def resnet_block(
    in_channels: int,
    channels: int,
    num_residuals: int,
    *,
    first_block: bool = False,
    bias: bool = True,
) -> nn.Sequential:
    """One stage; every stage but the first halves the resolution and changes the width."""
    blocks = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blocks.append(Residual(in_channels, channels, use_1x1conv=True, stride=2, bias=bias))
        else:
            blocks.append(Residual(channels, channels, bias=bias))
    return nn.Sequential(*blocks)


def resnet(
    stages: tuple[int, ...],
    *,
    num_classes: int,
    in_channels: int,
    small_input: bool = False,
    width: int = 64,
    bias: bool = True,
) -> SequentialNet:
    """``small_input`` swaps the 7x7/2 stem and max-pool for one 3x3 stride-1 convolution."""
    if small_input:
        stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=bias), nn.BatchNorm2d(width), nn.ReLU()
        )
    else:
        stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=bias),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
    layers, info = [stem], []
    channels, reduction = width, 1 if small_input else 4
    for i, num_residuals in enumerate(stages):
        out = width * 2**i
        layers.append(resnet_block(channels, out, num_residuals, first_block=i == 0, bias=bias))
        reduction *= 1 if i == 0 else 2
        info.append((str(i + 1), out, reduction))
        channels = out
    return SequentialNet(
        *layers,
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(channels, num_classes),
        head=len(layers),
        stages=info,
    )


def resnet18(*, num_classes: int = 1000, in_channels: int = 3) -> SequentialNet:
    return resnet((2, 2, 2, 2), num_classes=num_classes, in_channels=in_channels)


def resnet34(*, num_classes: int = 1000, in_channels: int = 3) -> SequentialNet:
    return resnet((3, 4, 6, 3), num_classes=num_classes, in_channels=in_channels)


def resnet18_small(*, num_classes: int = 10, in_channels: int = 1, width: int = 64) -> SequentialNet:
    return resnet(
        (2, 2, 2, 2),
        num_classes=num_classes,
        in_channels=in_channels,
        small_input=True,
        width=width,
        bias=False,
    )
