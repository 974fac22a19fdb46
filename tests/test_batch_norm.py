"""The lesson's hand-written batch normalization matches torch's, in training and evaluation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo_plugins.architectures.lenet.batch_norm import BatchNorm


@pytest.mark.parametrize(
    ("num_dims", "reference", "shape"),
    [(4, nn.BatchNorm2d, (8, 5, 6, 7)), (2, nn.BatchNorm1d, (16, 5))],
)
def test_matches_torch_batch_norm(num_dims: int, reference: type[nn.Module], shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    ours, theirs = BatchNorm(5, num_dims), reference(5)
    with torch.no_grad():
        theirs.weight.copy_(torch.rand(5) + 0.5)
        theirs.bias.copy_(torch.randn(5))
        ours.gamma.copy_(theirs.weight)
        ours.beta.copy_(theirs.bias)

    for step in range(4):
        x = torch.randn(*shape, dtype=torch.float64).float() * (step + 1) + step
        x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        torch.testing.assert_close(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(ours.moving_mean, theirs.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ours.moving_var, theirs.running_var, rtol=1e-5, atol=1e-6)
        weights = torch.randn_like(y_ours)
        (y_ours * weights).sum().backward()
        (y_theirs * weights).sum().backward()
        torch.testing.assert_close(x_ours.grad, x_theirs.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ours.gamma.grad, theirs.weight.grad, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(ours.beta.grad, theirs.bias.grad, rtol=1e-4, atol=1e-4)
        ours.zero_grad()
        theirs.zero_grad()

    ours.eval()
    theirs.eval()
    x = torch.randn(*shape)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    # Evaluation uses the moving statistics even with autograd on (the lesson's version did not).
    before = ours.moving_mean.clone()
    ours(x.requires_grad_())
    torch.testing.assert_close(ours.moving_mean, before)


def test_moving_statistics_are_saved_with_the_model() -> None:
    norm = BatchNorm(3, 4)
    norm(torch.randn(4, 3, 5, 5) + 2)
    assert set(norm.state_dict()) == {"gamma", "beta", "moving_mean", "moving_var"}
    assert norm.state_dict()["moving_mean"].abs().sum() > 0


def test_wrong_input_rank_is_refused() -> None:
    with pytest.raises(ValueError, match="num_dims=4"):
        BatchNorm(3, 4)(torch.randn(2, 3))
