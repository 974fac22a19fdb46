"""The default trainer: the recipe's loss on each augmented batch, one optimizer step per batch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo_core import TrainingEpoch, TrainingSession


def train(session: TrainingSession) -> dict[str, Any]:
    """Supervised training of ``session.model``."""
    for epoch in session.epochs():
        train_epoch(session, epoch)
    return session.finish()


def train_epoch(session: TrainingSession, epoch: TrainingEpoch) -> None:
    """One pass over this process's batches (benchmarks time it alone)."""
    for x, y in epoch.batches():
        with session.autocast():
            logits = session.net(x)
            loss = session.loss(logits.float(), y)
        session.step(loss)
        epoch.record(loss, logits, y)
