"""VGG from the lesson's ``vgg_block``: every depth is a tuple of (convolutions, channels)."""

from __future__ import annotations

from torch import nn

from zoo_core import SequentialNet

from ..layers import FitPool2d

ARCHS: dict[str, tuple[tuple[int, int], ...]] = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(
    arch: tuple[tuple[int, int], ...], *, num_classes: int, in_channels: int, dropout: float = 0.5
) -> SequentialNet:
    """The fit-pool is skipped at 224x224 and maps other sizes to the 7x7 fc input."""
    blocks = []
    for num_convs, out_channels in arch:
        blocks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return SequentialNet(
        *blocks,
        FitPool2d((7, 7)),
        nn.Flatten(),
        nn.Linear(in_channels * 7 * 7, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
        head=len(blocks),
        stages=[(str(i), channels, 2 ** (i + 1)) for i, (_, channels) in enumerate(arch)],
    )


def vgg11(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> SequentialNet:
    return vgg(ARCHS["vgg11"], num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def vgg13(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> SequentialNet:
    return vgg(ARCHS["vgg13"], num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def vgg16(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> SequentialNet:
    return vgg(ARCHS["vgg16"], num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def vgg19(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> SequentialNet:
    return vgg(ARCHS["vgg19"], num_classes=num_classes, in_channels=in_channels, dropout=dropout)
