"""Batch normalization written from its formula, as the lesson does, matching ``nn.BatchNorm1d``
and ``nn.BatchNorm2d`` numerically.

Two corrections to the lesson's version make it match: the mode comes from ``self.training``
(the lesson tests ``torch.is_grad_enabled()``, so evaluation under autograd used batch
statistics), and the moving variance is updated with the unbiased batch variance, as torch does.
The moving statistics are buffers, so they are saved, loaded and moved with the model.
"""

from __future__ import annotations

import torch
from torch import nn


def batch_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    *,
    training: bool,
    eps: float,
    momentum: float,
) -> torch.Tensor:
    """Normalise ``x`` (N, C) or (N, C, H, W) per channel; in training, update the moving
    statistics in place as ``moving = momentum * moving + (1 - momentum) * batch``."""
    dims = (0,) if x.dim() == 2 else (0, 2, 3)
    shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
    if training:
        mean = x.mean(dim=dims)
        var = ((x - mean.view(shape)) ** 2).mean(dim=dims)
        count = x.numel() // x.shape[1]
        with torch.no_grad():
            moving_mean.mul_(momentum).add_((1.0 - momentum) * mean)
            moving_var.mul_(momentum).add_((1.0 - momentum) * var * count / max(count - 1, 1))
    else:
        mean, var = moving_mean, moving_var
    x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    return gamma.view(shape) * x_hat + beta.view(shape)


class BatchNorm(nn.Module):
    """The lesson's ``BatchNorm(num_features, num_dims)``: ``num_dims`` 2 after a fully connected
    layer, 4 after a convolution. ``momentum`` is the lesson's 0.9 (torch's 0.1 is ``1 - 0.9``)."""

    def __init__(self, num_features: int, num_dims: int, *, eps: float = 1e-5, momentum: float = 0.9) -> None:
        super().__init__()
        if num_dims not in (2, 4):
            raise ValueError(f"num_dims must be 2 (fully connected) or 4 (convolution), got {num_dims}")
        self.num_dims, self.eps, self.momentum = num_dims, eps, momentum
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("moving_mean", torch.zeros(num_features))
        self.register_buffer("moving_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.num_dims:
            raise ValueError(f"BatchNorm(num_dims={self.num_dims}) got a {x.dim()}-d input")
        return batch_norm(
            x,
            self.gamma,
            self.beta,
            self.moving_mean,
            self.moving_var,
            training=self.training,
            eps=self.eps,
            momentum=self.momentum,
        )

    def extra_repr(self) -> str:
        return f"{self.gamma.numel()}, num_dims={self.num_dims}, eps={self.eps}, momentum={self.momentum}"
