"""Recipes the built-in families share."""

from __future__ import annotations

from zoo_core import Recipe


def classic(*, input_size: tuple[int, int], batch_size: int, lr: float) -> Recipe:
    """The classic course's run of its 224-pixel networks: Fashion-MNIST resized to
    ``input_size``, plain SGD (no momentum, no weight decay) at ``lr``, 10 epochs, no early
    stopping."""
    return Recipe(
        name="classic",
        dataset="fashion_mnist",
        input_size=input_size,
        batch_size=batch_size,
        optimizer="sgd",
        lr=lr,
        weight_decay=0.0,
        epochs=10,
        patience=None,
        options={"momentum": 0.0},
    )
