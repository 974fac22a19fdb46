"""The distillation loop: the default trainer's loop with the teacher's soft targets added."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from zoo_core import (
    ZooError,
    batches_in,
    create_model,
    get_weights,
    hash_disagrees,
    hashed_file,
    progress,
    user_cache_dir,
)

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
    logits_of, source = teacher.cache(session) if cached else (None, "every batch")
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
        teacher_logits=source,
        teacher_cache_seconds=cache_seconds,
    )


def _kept_logits(path: Path, shape: tuple[int, int]) -> tuple[torch.Tensor | None, str]:
    """The logits kept at ``path`` when they are what this cache wrote (its sha256, float32 of
    ``shape``, finite), else ``None`` and why not."""
    reason = hash_disagrees(path)
    if reason is not None:
        return None, reason
    try:
        logits = load_file(path)["logits"]
    except (OSError, SafetensorError, KeyError) as exc:
        return None, f"unreadable: {exc}"
    if logits.dtype != torch.float32 or tuple(logits.shape) != shape:
        return None, f"{logits.dtype} {tuple(logits.shape)}, not float32 {shape}"
    if not torch.isfinite(logits).all():
        return None, "it holds NaN or infinite values"
    return logits, ""


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
        self.model_name, self.sha256 = model_name, info.sha256
        model = create_model(model_name, weights=weights).to(session.device).eval().requires_grad_(False)
        if session.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model: nn.Module = model

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return self.model(x).float()

    def cache(self, session: TrainingSession) -> tuple[torch.Tensor, str]:
        """The teacher's logits for every training image of this process, by position, and where
        they came from. A teacher that has seen exactly these images before, run the same way,
        is not asked again: its logits wait in the zoo's cache (named by a hash of all of that),
        so runs that differ only in the student's recipe pay for the teacher once."""
        split = session.train_split
        path = user_cache_dir() / "teacher-logits" / f"{self._key(session)}.safetensors"
        shape = (len(split), session.dataset.num_classes)
        if path.is_file():
            logits, reason = _kept_logits(path, shape)
            if logits is not None:
                return logits.to(session.device), "read from the cache"
            warnings.warn(f"the teacher's logits in {path} fail their check ({reason})", stacklevel=1)
        size = session.eval_batch_size
        batches = progress(
            split.batches(size),
            total=batches_in(len(split), size),
            desc=f"teacher {self.model_name}",
        )
        with session.autocast():
            logits = torch.cat([self(x) for x, _ in batches])
        if not torch.isfinite(logits).all():
            raise ZooError(f"teacher {self.model_name} gives NaN or infinite logits; choose other weights")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with hashed_file(path) as temporary:
                save_file({"logits": logits.cpu().contiguous()}, temporary)
        except (OSError, ZooError, SafetensorError) as exc:  # the run goes on; the next one asks again
            warnings.warn(f"the teacher's logits could not be kept in {path.parent}: {exc}", stacklevel=1)
        return logits, "computed once"

    def _key(self, session: TrainingSession) -> str:
        """A hash of what the teacher's logits depend on, down to the last bit: its weights, the
        images as it sees them (in storage order), the device type, the precision, the memory
        layout and the batch size."""
        settings = session.settings
        facts = [self.model_name, self.sha256, self.size, session.device.type, session.amp]
        facts += [settings.channels_last, session.eval_batch_size]
        digest = hashlib.sha256(json.dumps(facts).encode())
        for x, _ in session.train_split.batches(session.eval_batch_size):
            digest.update(x.cpu().contiguous().numpy())
        return digest.hexdigest()[:40]
