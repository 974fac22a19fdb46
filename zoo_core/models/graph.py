"""A picture of a network's layers (what the lesson draws with torchviz), through torchview and
Graphviz's ``dot`` program."""

from __future__ import annotations

import shutil
from pathlib import Path

import torchview
from torch import nn

from ..base.atomic import write_bytes
from ..base.errors import ZooError

FORMATS = ("svg", "png", "pdf")


def draw_graph(model: nn.Module, input_shape: tuple[int, ...], path: Path, *, depth: int = 2) -> None:
    """Write the layer graph of ``model`` at batch 1 to ``path``; the suffix picks the format."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ZooError(
            f"cannot draw to {path.name}: the file must end in {', '.join('.' + f for f in FORMATS)}"
        )
    if shutil.which("dot") is None:
        raise ZooError(
            "zoo graph needs Graphviz's `dot` program, which is not on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz or conda install graphviz)"
        )
    graph = torchview.draw_graph(
        model.eval(), input_size=(1, *input_shape), depth=depth, expand_nested=True, device="cpu"
    )
    write_bytes(path, graph.visual_graph.pipe(format=fmt))
