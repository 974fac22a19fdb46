"""What a built model is made of: per-layer output shapes and parameters, and FLOPs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    params: int


def layer_summary(model: nn.Module, input_shape: tuple[int, ...], *, depth: int = 1) -> list[LayerRow]:
    """Run one batch of zeros through ``model`` and report, in call order, every module ``depth``
    levels down (or a shallower leaf) with its output shape and parameter count."""
    rows: list[LayerRow] = []
    handles = []
    for name, module in model.named_modules():
        level = name.count(".") + 1 if name else 0
        if level == depth or (0 < level < depth and not any(module.children())):

            def hook(mod: nn.Module, args: object, output: object, name: str = name) -> None:
                shape = tuple(output.shape) if isinstance(output, torch.Tensor) else None
                params = sum(p.numel() for p in mod.parameters())
                rows.append(LayerRow(name, type(mod).__name__, shape, params))

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return rows


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Floating-point operations of one forward pass at batch 1 (a multiply-add counts two).

    The model may live on the ``meta`` device, which counts without computing.
    """
    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.eval()(torch.zeros(1, *input_shape, device=device))
    return counter.get_total_flops()
