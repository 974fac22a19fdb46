"""The moving average itself: a frozen copy of the model, moved towards the trained weights after
every step with one fused ``lerp`` over all floating-point tensors and no host synchronisation."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from zoo_core import Recipe


class WeightEMA:
    """``module`` holds the average of the parameters and floating-point buffers of the model
    given to ``update_parameters``; integer buffers (batch norm's step count) are copied."""

    def __init__(self, model: nn.Module, *, decay: float, warmup: bool) -> None:
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self._pairs: tuple[list[torch.Tensor], ...] | None = None

    def rate(self) -> float:
        """The decay of the next update."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        if self._pairs is None:
            self._pairs = _pairs(self.module, model)
        averaged, current, averaged_other, current_other = self._pairs
        torch._foreach_lerp_(averaged, current, 1.0 - self.rate())
        for mine, theirs in zip(averaged_other, current_other, strict=True):
            mine.copy_(theirs)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])


def _pairs(average: nn.Module, model: nn.Module) -> tuple[list[torch.Tensor], ...]:
    """The average's and the model's tensors, floating-point ones apart from the others."""
    mine = [*average.parameters(), *average.buffers()]
    theirs = [t.detach() for t in (*model.parameters(), *model.buffers())]
    if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs, strict=True)):
        raise ValueError("weight EMA: the model given to update_parameters is not the one averaged")
    floating = [a.is_floating_point() for a in mine]
    return (
        [a for a, f in zip(mine, floating, strict=True) if f],
        [b for b, f in zip(theirs, floating, strict=True) if f],
        [a for a, f in zip(mine, floating, strict=True) if not f],
        [b for b, f in zip(theirs, floating, strict=True) if not f],
    )


def ema(model: nn.Module, *, recipe: Recipe, options: dict[str, Any]) -> WeightEMA:
    return WeightEMA(model, decay=options["ema_decay"], warmup=options["ema_warmup"])
