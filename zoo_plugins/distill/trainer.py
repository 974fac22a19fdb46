"""The distillation loop: the default trainer's loop with the teacher's soft targets added."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo_core import ZooError, create_model, get_weights

if TYPE_CHECKING:
    from zoo_core import TrainingSession


def train(session: TrainingSession) -> dict[str, Any]:
    """Train ``session.model`` on ``alpha * T^2 * KL(teacher || student at temperature T) +
    (1 - alpha) * the recipe's loss``; the teacher stays in eval mode."""
    options = session.options
    teacher = Teacher(session, options["distill_teacher"])
    alpha, temperature = options["distill_alpha"], options["distill_temperature"]
    cached = options["distill_cache"] and all(p.spec.keeps_labels for p in session.parts.augmentations)
    start = time.perf_counter()
    logits_of = teacher.cache(session) if cached else None
    cache_seconds = time.perf_counter() - start
    for epoch in session.epochs():
        for x, y, index in epoch.batches(indices=True):
            with session.autocast():
                logits = session.net(x)
                student = logits.float()
                target = logits_of[index] if logits_of is not None else teacher(x)
                soft = F.kl_div(
                    F.log_softmax(student / temperature, dim=1),
                    F.log_softmax(target / temperature, dim=1),
                    reduction="batchmean",
                    log_target=True,
                )
                loss = alpha * temperature**2 * soft + (1 - alpha) * session.loss(student, y)
            session.step(loss)
            epoch.record(loss, logits, y)
    return session.finish(
        teacher=teacher.name,
        teacher_logits="cached" if cached else "every batch",
        teacher_cache_seconds=cache_seconds,
    )


class Teacher:
    """A trained model in eval mode on the session's device, answering for the student's
    batches (resized to its own input size when that differs)."""

    def __init__(self, session: TrainingSession, reference: str) -> None:
        model_name, _, weights = reference.partition(":")  # checked by the option: MODEL:WEIGHTS
        info = get_weights(model_name, weights)
        dataset = session.dataset
        if info.num_classes != dataset.num_classes or (info.labels and info.labels != dataset.classes):
            raise ZooError(
                f"teacher {reference} predicts {info.num_classes} classes ({', '.join(info.labels) or '?'}); "
                f"the student learns {dataset.num_classes} ({', '.join(dataset.classes)}): pick a teacher "
                "trained on the same classes"
            )
        if (info.in_channels, info.mean, info.std) != (dataset.in_channels, dataset.mean, dataset.std):
            raise ZooError(
                f"teacher {reference} takes {info.in_channels}-channel images normalised with mean "
                f"{info.mean} and std {info.std}; the student's data are {dataset.in_channels}-channel "
                f"with mean {dataset.mean} and std {dataset.std}: pick a teacher trained on this dataset"
            )
        self.name, self.size = reference, tuple(info.input_size)
        model = create_model(model_name, weights=weights).to(session.device).eval().requires_grad_(False)
        if session.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model: nn.Module = model

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return self.model(x).float()

    def cache(self, session: TrainingSession) -> torch.Tensor:
        """The teacher's logits for every training image of this process, by position."""
        with session.autocast():
            return torch.cat([self(x) for x, _ in session.train_split.batches(session.eval_batch_size)])
