"""Recipes the built-in families share."""

from __future__ import annotations

from typing import Any

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


def one_cycle(
    *, name: str, epochs: int, augment: tuple[str, ...] = ("flip", "shift"), **changes: Any
) -> Recipe:
    """The small networks' Fashion-MNIST recipe: one-cycle AdamW at 3e-3 with weight decay 5e-4,
    flips and shifts, flip test-time augmentation, no early stopping; ``changes`` set the rest."""
    fields: dict[str, Any] = dict(
        dataset="fashion_mnist", optimizer="adamw", lr=3e-3, weight_decay=5e-4, schedule="onecycle"
    )
    return Recipe(**{**fields, **changes}, name=name, epochs=epochs, patience=None, augment=augment, tta=True)
