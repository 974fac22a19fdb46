"""One process's share of a run: the model, the data on the device, the optimizer and schedule,
the random generators and the early-stopping state; one epoch of training at a time.

The whole dataset sits on the training device as uint8 and batches are made there
(``device_data``); the loop keeps its sums on the device and synchronises once per epoch.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from ..data import get_dataset
from ..device_data import Split
from ..devices import autocast, resolve_device
from ..distributed import Process, gather_objects, shard, sum_across
from ..errors import ZooError
from ..evaluation import Evaluation, evaluate
from ..models import create_model, get_model_spec, get_weights, registered_info
from ..parts import has_parts
from ..recipe import Recipe
from ..splits import load_splits
from .settings import Settings


@dataclass
class TrainingState:
    """Where a run stands; saved in every checkpoint as ``trainer``, with the world size."""

    epoch: int = 0
    steps: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    images_seen: int = 0


class Progress(Protocol):
    def update(self, n: int) -> None: ...


class Trainer:
    """One run's model, data, optimizer and early-stopping state, on one process."""

    def __init__(self, model_name: str, recipe: Recipe, settings: Settings, process: Process) -> None:
        self.recipe, self.settings, self.process = recipe, settings, process
        self.device = self._device()
        self.amp = settings.amp if settings.amp is not None else self.device.type == "cuda"
        spec = get_model_spec(model_name)  # an unknown name fails before the data is loaded
        self.parent = get_weights(model_name, settings.weights) if settings.weights else None
        start = self.parent or registered_info(spec, spec.num_classes, spec.in_channels, spec.input_size)
        self.splits = load_splits(
            get_dataset(recipe.dataset),
            recipe,
            device=self.device,
            channels=start.in_channels,
            options=settings.data_options(start.interpolation),
            channels_last=settings.channels_last,
            process=process,
        )
        self.dataset = self.splits.dataset
        self.train_split, self.val_split, self.test_split = (
            self.splits.train,
            self.splits.val,
            self.splits.test,
        )
        if len(self.val_split) == 0 and recipe.patience is not None:
            raise ZooError("early stopping needs validation images: set val_fraction > 0 or --patience 0")
        if recipe.batch_size % process.world_size or recipe.batch_size < 2 * process.world_size:
            raise ZooError(
                f"batch size {recipe.batch_size} does not split over {process.world_size} processes "
                "into batches of at least 2; use a multiple of the process count, at least twice it"
            )
        self.batch_size = recipe.batch_size // process.world_size
        per_rank = (
            len(self.train_split) if self.train_split.sharded else len(self.train_split) // process.world_size
        )
        self.steps_per_epoch = math.ceil(per_rank / self.batch_size)
        total_steps = recipe.epochs * self.steps_per_epoch
        if settings.max_steps:
            total_steps = min(total_steps, settings.max_steps)

        torch.manual_seed(recipe.seed)
        self.model, self.net = self._model(model_name)
        _warn_if_batch_norm_cannot_settle(model_name, self.model, total_steps)
        self.optimizer = make_optimizer(self.model, recipe)
        self.scheduler = make_scheduler(self.optimizer, recipe, total_steps)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)

        torch.manual_seed(recipe.seed + 1 + process.rank)  # dropout differs between ranks
        self.shuffle = torch.Generator().manual_seed(recipe.seed)  # identical on every rank
        self.augment_rng = torch.Generator(self.device).manual_seed(recipe.seed * 1000 + process.rank)
        self.state = TrainingState()

    def _device(self) -> torch.device:
        device = resolve_device(self.settings.device)
        if device.type == "cuda" and self.process.distributed:
            device = torch.device("cuda", self.process.local_rank)
            torch.cuda.set_device(device)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
        return device

    def _model(self, model_name: str) -> tuple[nn.Module, nn.Module]:
        """The model on the device, and the module the loop calls (DDP's wrapper under torchrun)."""
        model = create_model(
            model_name,
            num_classes=self.dataset.num_classes,
            in_channels=self.dataset.in_channels,
            weights=self.settings.weights,
        )
        model = model.to(self.device)
        if self.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if not self.process.distributed:
            return model, model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return model, nn.parallel.DistributedDataParallel(model, device_ids=ids)

    # -- state -------------------------------------------------------------------------------
    def rng_state(self) -> dict[str, torch.Tensor]:
        state = {
            "torch": torch.get_rng_state(),
            "shuffle": self.shuffle.get_state(),
            "augment": self.augment_rng.get_state(),
        }
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def set_rng_state(self, state: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(state["torch"])
        self.shuffle.set_state(state["shuffle"])
        self.augment_rng.set_state(state["augment"])
        if "cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)

    def checkpoint(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """The full state: every rank's RNG states are gathered, so call it on every rank."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else {},
            "rng": gather_objects(self.process, self.rng_state()),
            "trainer": {**dataclasses.asdict(self.state), "world_size": self.process.world_size},
            "history": history,
        }

    def restore(self, checkpoint: dict[str, Any]) -> list[dict[str, Any]]:
        """Continue from ``checkpoint``; returns the history of the epochs it holds."""
        saved = dict(checkpoint["trainer"])
        world_size = saved.pop("world_size")
        if world_size != self.process.world_size:
            raise ZooError(
                f"this run was trained on {world_size} processes; resume it with --nproc {world_size}"
            )
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.scheduler:
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.set_rng_state(checkpoint["rng"][self.process.rank])
        self.state = TrainingState(**saved)
        return checkpoint["history"]

    # -- training ------------------------------------------------------------------------------
    def epoch_order(self) -> torch.Tensor:
        """This process's shard of a fresh permutation (the same permutation on every rank), or
        a permutation of its own images when it holds only its shard."""
        order = torch.randperm(len(self.train_split), generator=self.shuffle)
        return (order if self.train_split.sharded else shard(order, self.process)).to(self.device)

    def train_epoch(self, progress: Progress) -> dict[str, float]:
        """One pass over this process's shard; the loss and accuracy over every process."""
        self.net.train()
        if self.recipe.freeze_features or self.recipe.lr_features == 0:
            self.model.features.eval()  # frozen: batch norm keeps its running statistics too
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        seen, lr = 0, self.optimizer.param_groups[0]["lr"]
        batches = self.train_split.batches(
            self.batch_size, order=self.epoch_order(), augment=self.recipe.augment, generator=self.augment_rng
        )
        for x, y in batches:
            if len(y) < 2 or (self.settings.max_steps and self.state.steps >= self.settings.max_steps):
                break  # a last batch of one would break batch norm; max_steps ends a smoke run early
            with autocast(self.device, self.amp):
                logits = self.net(x)
                loss = self.criterion(logits.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
            if self.scheduler:
                self.scheduler.step()
            self.state.steps += 1
            loss_sum += loss.detach().double() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            progress.update(1)
        totals = sum_across(
            self.process,
            torch.stack([loss_sum, correct.double(), torch.tensor(seen, device=self.device).double()]),
        )
        total_seen = max(totals[2].item(), 1)
        self.state.images_seen += int(totals[2].item())
        return {
            "train_loss": totals[0].item() / total_seen,
            "train_accuracy": totals[1].item() / total_seen,
            "lr": lr,
        }

    def evaluate(self, split: Split, *, tta: bool = False) -> Evaluation:
        """Loss and accuracy over ``split``; with ``tta`` also the recipe's test-time
        augmentation, when it has one (the final test: per-epoch validation decides on the
        single pass, so it spends nothing on flips)."""
        return evaluate(
            self.model,
            split,
            num_classes=self.dataset.num_classes,
            batch_size=self.settings.eval_batch_size,
            tta=tta and self.recipe.tta,
            amp=self.amp,
            process=self.process,
        )

    def observe(self, val_loss: float) -> bool:
        """Record an epoch's validation loss for early stopping; True when it is the best so far."""
        if val_loss < self.state.best_val_loss:
            self.state.best_val_loss, self.state.best_epoch, self.state.bad_epochs = (
                val_loss,
                self.state.epoch,
                0,
            )
            return True
        self.state.bad_epochs += 1
        return False

    def stop_reason(self) -> str | None:
        """Why training stops after the current epoch, or None while it goes on."""
        if self.recipe.patience is not None and self.state.bad_epochs >= self.recipe.patience:
            return f"early stop: no better validation loss for {self.recipe.patience} epochs"
        if self.settings.max_steps is not None and self.state.steps >= self.settings.max_steps:
            return f"max steps ({self.settings.max_steps}) reached"
        if self.state.epoch >= self.recipe.epochs:
            return f"all {self.recipe.epochs} epochs done"
        return None


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    groups, lr, wd = parameter_groups(model, recipe), recipe.lr, recipe.weight_decay
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr, weight_decay=wd)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=wd)
    return torch.optim.SGD(groups, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov, weight_decay=wd)


def parameter_groups(model: nn.Module, recipe: Recipe) -> list[dict[str, Any]]:
    """One group of every parameter, or, when the recipe treats the feature extractor apart
    (``freeze_features``, ``lr_features``), the head's and the features' (frozen ones left out)."""
    if not recipe.freeze_features and recipe.lr_features == 1.0:
        return [{"params": list(model.parameters())}]
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Module) or not has_parts(model):
        raise ZooError(
            f"freeze_features and lr_features need a model with named parts (a features module); "
            f"{type(model).__name__} has none"
        )
    feature_ids = {id(p) for p in features.parameters()}
    head = [p for p in model.parameters() if id(p) not in feature_ids]
    if recipe.freeze_features or recipe.lr_features == 0:
        features.requires_grad_(False)
        return [{"params": head}]
    return [{"params": head}, {"params": list(features.parameters()), "lr": recipe.lr * recipe.lr_features}]


FEW_STEPS = 100  # about how many steps batch norm's running statistics (momentum 0.1) need


def _warn_if_batch_norm_cannot_settle(name: str, model: nn.Module, steps: int) -> None:
    """A handful of steps leaves batch norm's running statistics far from what the weights now
    produce, so eval-mode outputs (validation, test, export) can be at chance while training
    learns: say so before the run rather than let its report mislead."""
    if steps < FEW_STEPS and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        warnings.warn(
            f"{name} has batch norm and this run makes only {steps} optimizer steps: its running statistics "
            "will not settle, so validation and test figures may be near chance; more --epochs, a larger "
            "--subset or a smaller --batch-size give more steps",
            stacklevel=3,
        )


def make_scheduler(
    optimizer: torch.optim.Optimizer, recipe: Recipe, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Stepped once per optimizer step; 'constant' has none."""
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=max(total_steps, 10),  # it needs steps in each phase; tiny runs stop part-way
            pct_start=0.25,
            anneal_strategy="linear",
            cycle_momentum=False,
        )
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None
