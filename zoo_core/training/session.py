"""One process's share of a run, as a trainer sees it: the model, the data on the device, the
parts the recipe names (optimizer, schedule, loss, augmentations, weight averager), the random
generators and the early-stopping state, and the three calls that keep the core's contract:
``epochs()``, ``step(loss)`` and ``finish()``.

A trainer (``zoo_register_trainers``) is a loop over ``session.epochs()``; everything around it
(the run folder, a checkpoint after every epoch and exact resume, the epoch and end hooks, the
best and last weights, the final test) happens in those calls, so every trainer gets it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import platform
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm

from ..base.atomic import write_json
from ..base.errors import ZooError
from ..base.progress import on_terminal
from ..base.version import __version__
from ..contract.recipe import Recipe
from ..contract.run import Run
from ..contract.weights_info import WeightsInfo
from ..data.datasets import get_dataset
from ..data.device_data import Split
from ..data.splits import load_splits
from ..host.plugins import notify, run_loggers, tell_loggers
from ..host.training_parts import mirrors_help, resolve_parts, tests_mirrored
from ..models.catalogue import get_model_spec
from ..models.factory import create_model
from ..models.named_parts import has_parts
from ..models.pretrained import get_weights, registered_info
from ..runtime.devices import autocast, device_name, eval_batch_size, native_bf16, resolve_device, sync_time
from ..runtime.distributed import Process, barrier, from_main, gather_objects, shard, sum_across
from ..store.weights import load_weights, save_weights
from .checkpoints import FileWriter, save_checkpoint, to_cpu
from .evaluation import Evaluation, evaluate, write_split_report
from .reports import preload as preload_reports
from .settings import Settings


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


class Stateful(Protocol):
    """What ``TrainingSession.keep`` takes: anything with a state dict (a module, a generator
    wrapper, a trainer's own counters)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass
class TrainingState:
    """Where a run stands; saved in every checkpoint as ``trainer``, with the world size."""

    epoch: int = 0
    steps: int = 0
    best_val_loss: float = math.inf
    best_val_accuracy: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    images_seen: int = 0


class TrainingSession:
    """One run's model, data, training parts and state, on one process; what a trainer gets.

    Attributes a trainer uses: ``model`` (the module being trained), ``net`` (what to call:
    DDP's wrapper under torchrun), ``loss(logits, targets)``, ``optimizer``, ``scheduler``,
    ``averager`` (or None), ``recipe``, ``options`` (the trainer's own options), ``device``,
    ``dataset``, ``train_split``, ``val_split``, ``test_split``, ``batch_size`` (per process),
    ``state`` and ``process``.
    """

    def __init__(self, model_name: str, recipe: Recipe, settings: Settings, process: Process) -> None:
        self.model_name, self.recipe, self.settings, self.process = model_name, recipe, settings, process
        self.parts = resolve_parts(recipe)  # an unknown part fails before the data is loaded
        self._loggers: list[Any] = []  # the --logger loggers, made on rank 0 as the epochs start
        self.options = self.parts.trainer.options
        self.device = self._device()
        self.amp = settings.amp if settings.amp is not None else native_bf16(self.device)
        spec = get_model_spec(model_name)
        self.parent = get_weights(model_name, settings.weights) if settings.weights else None
        start = self.parent or registered_info(spec, spec.num_classes, spec.in_channels, spec.input_size)
        self.splits = load_splits(
            get_dataset(recipe.dataset),
            recipe,
            device=self.device,
            channels=start.in_channels,
            options=settings.data_options(start.interpolation, start.crop_pct),
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
        self.batch_size = recipe.per_process_batch(process.world_size)
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
        self.optimizer = self.parts.optimizer.build(parameter_groups(self.model, recipe), recipe=recipe)
        self.scheduler = self.parts.schedule.build(self.optimizer, recipe=recipe, total_steps=total_steps)
        self.loss = self.parts.loss.build(recipe=recipe)
        self.augment = [p.build(recipe=recipe, dataset=self.dataset) for p in self.parts.augmentations]
        averager = self.parts.averager
        self.averager = averager.build(self.model, recipe=recipe) if averager else None

        torch.manual_seed(recipe.seed + 1 + process.rank)  # dropout differs between ranks
        self.shuffle = torch.Generator().manual_seed(recipe.seed)  # identical on every rank
        self.augment_rng = torch.Generator(self.device).manual_seed(recipe.seed * 1000 + process.rank)
        self.state = TrainingState()
        self.run: Run | None = None  # set by `zoo_core.training.train` once the folder exists
        self.progress = True  # a progress bar per epoch on rank 0
        self._kept: dict[str, Stateful] = {}
        self._resumed: dict[str, Any] = {}
        self._lr = self.optimizer.param_groups[0]["lr"]
        self._wall_start = time.perf_counter()

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

    @property
    def eval_model(self) -> nn.Module:
        """The weights the run validates, saves and tests: the averager's, when there is one."""
        return self.averager.module if self.averager is not None else self.model

    @property
    def eval_batch_size(self) -> int:
        """Images per batch when only predicting (``--batch-size`` of eval, or the device's)."""
        return self.settings.eval_batch_size or eval_batch_size(self.device)

    def autocast(self) -> Any:
        """The run's precision for a forward pass: bf16 autocast when AMP is on."""
        return autocast(self.device, self.amp)

    def keep(self, name: str, stateful: Stateful) -> None:
        """Save ``stateful`` in every checkpoint under ``name`` (a trainer's own state, e.g. a
        second model it trains); in a resumed run it is loaded with the checkpoint's state now."""
        self._kept[name] = stateful
        if name in self._resumed:
            stateful.load_state_dict(self._resumed.pop(name))

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
            "averager": self.averager.state_dict() if self.averager is not None else {},
            "kept": {name: stateful.state_dict() for name, stateful in self._kept.items()},
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
        if self.averager is not None:
            self.averager.load_state_dict(checkpoint["averager"])
        self._resumed = dict(checkpoint.get("kept", {}))  # what the trainer will keep() again
        self.set_rng_state(checkpoint["rng"][self.process.rank])
        self.state = TrainingState(**saved)
        self._lr = self.optimizer.param_groups[0]["lr"]
        return checkpoint["history"]

    # -- what a trainer calls ------------------------------------------------------------------
    def epochs(self) -> Iterator[TrainingEpoch]:
        """The epochs still to train, one :class:`TrainingEpoch` at a time, until the recipe or
        early stopping says stop. After each epoch's body: validation (of ``eval_model``), the
        best weights when they improved, the checkpoint (written while the next epoch trains)
        and the ``zoo_train_epoch_end`` hook; a loss gone NaN or infinite stops the run."""
        run = self._run()
        main = self.process.is_main
        header = self.weights_info().to_metadata()
        self._wall_start = wall_start = time.perf_counter() - self.state.wall_seconds
        if self.test_split is not None:
            preload_reports()
        if main:
            notify("zoo_train_start", run=run)
            self._loggers = run_loggers(self.settings.loggers, run)
        with FileWriter() as writer:
            while self.stop_reason() is None:
                self.state.epoch += 1
                epoch = TrainingEpoch(
                    self, _progress(self.progress and main, self.steps_per_epoch, self.state, run)
                )
                start = sync_time(self.device)
                try:
                    yield epoch
                finally:
                    epoch.bar.close()
                seconds = sync_time(self.device) - start
                metrics, improved = self._end_epoch(epoch, seconds)
                self.state.wall_seconds = time.perf_counter() - wall_start
                jobs = []
                if improved:
                    jobs.append((save_weights, to_cpu(self.eval_model.state_dict()), run.best_path, header))
                jobs.append((save_checkpoint, to_cpu(self.checkpoint(run.history)), run.checkpoint_path))
                if main:
                    writer.submit(jobs)
                    notify("zoo_train_epoch_end", run=run, metrics=metrics)
                    tell_loggers(self._loggers, "epoch_end", metrics)
        if main:  # the final weights, before the report loads the best ones into the model
            save_weights(self.eval_model.state_dict(), run.last_path, header)

    def step(self, loss: torch.Tensor) -> None:
        """One optimizer step on ``loss``: gradients, the optimizer, the schedule, the weight
        averager and the step count."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
        if self.scheduler:
            self.scheduler.step()
        if self.averager is not None:
            self.averager.update_parameters(self.model)
        self.state.steps += 1

    def finish(self, **extra: Any) -> dict[str, Any]:
        """Test the best weights, write ``report.json`` (with ``extra``, JSON-able facts of the
        trainer's own), call the ``zoo_train_end`` hook and return the report; a trainer
        returns what this returns."""
        run = self._run()
        report = {**self._final_report(run), **extra}
        report["wall_seconds"] = time.perf_counter() - self._wall_start
        if self.process.is_main:
            write_json(run.report_path, report)
            notify("zoo_train_end", run=run, report=report)
            tell_loggers(self._loggers, "end", report)
        barrier(self.process)  # rank 0 wrote the report; leave the process group together
        return report

    def evaluate(self, split: Split, *, tta: bool = False, report: bool = False) -> Evaluation:
        """Loss and accuracy of ``eval_model`` over ``split``; with ``tta`` also the recipe's
        test-time augmentation, when it has one (the final test: per-epoch validation decides
        on the single pass, so it spends nothing on flips); with ``report`` the per-class
        report."""
        return evaluate(
            self.eval_model,
            split,
            num_classes=self.dataset.num_classes,
            batch_size=self.eval_batch_size,
            tta=tta and tests_mirrored(self.recipe),
            amp=self.amp,
            process=self.process,
            classes=self.dataset.classes if report else None,
        )

    # -- the loop's bookkeeping ------------------------------------------------------------------
    def epoch_order(self) -> torch.Tensor:
        """This process's shard of a fresh permutation (the same permutation on every rank), or
        a permutation of its own images when it holds only its shard."""
        order = torch.randperm(len(self.train_split), generator=self.shuffle)
        return (order if self.train_split.sharded else shard(order, self.process)).to(self.device)

    def observe(self, val_loss: float, val_accuracy: float | None = None) -> bool:
        """Record an epoch's validation figures for early stopping; True when the epoch is the
        best so far by the recipe's ``best_by`` (lower loss, or higher accuracy)."""
        state = self.state
        if self.recipe.best_by == "val_accuracy" and val_accuracy is not None:
            better = val_accuracy > state.best_val_accuracy
        else:
            better = val_loss < state.best_val_loss
        if better:
            state.best_val_loss, state.best_epoch, state.bad_epochs = val_loss, state.epoch, 0
            state.best_val_accuracy = -math.inf if val_accuracy is None else val_accuracy
            return True
        state.bad_epochs += 1
        return False

    def stop_reason(self) -> str | None:
        """Why training stops after the current epoch, or None while it goes on."""
        if self.recipe.patience is not None and self.state.bad_epochs >= self.recipe.patience:
            watched = "accuracy" if self.recipe.best_by == "val_accuracy" else "loss"
            return f"early stop: no better validation {watched} for {self.recipe.patience} epochs"
        if self.settings.max_steps is not None and self.state.steps >= self.settings.max_steps:
            return f"max steps ({self.settings.max_steps}) reached"
        if self.state.epoch >= self.recipe.epochs:
            return f"all {self.recipe.epochs} epochs done"
        return None

    def _run(self) -> Run:
        if self.run is None:
            raise ZooError("this session has no run folder: train through zoo_core.training.train")
        return self.run

    def _end_epoch(self, epoch: TrainingEpoch, seconds: float) -> tuple[dict[str, Any], bool]:
        """An epoch's metrics over every process (appended to the run's history), and whether
        its validation loss is the best so far."""
        run, state = self._run(), self.state
        state.train_seconds += seconds
        sums = sum_across(self.process, torch.stack([epoch.loss_sum, epoch.correct.double(), epoch.seen]))
        seen = int(sums[2].item())
        state.images_seen += seen
        train_loss = sums[0].item() / max(seen, 1)
        self._check_finite("loss", train_loss)
        val = self.evaluate(self.val_split)
        self._check_finite("validation loss", val.loss)
        improved = self.observe(val.loss, val.accuracy)
        metrics = {
            "epoch": state.epoch,
            "train_loss": train_loss,
            "train_accuracy": sums[1].item() / max(seen, 1),
            "lr": epoch.lr,
            "val_loss": val.loss,
            "val_accuracy": val.accuracy,
            "seconds": seconds,
            "steps": state.steps,
        }
        run.history.append(metrics)
        return metrics, improved

    def _check_finite(self, what: str, loss: float) -> None:
        """Stop a run whose loss is NaN or infinite, before it is recorded or starred as best."""
        if math.isfinite(loss):
            return
        run, epoch = self._run(), self.state.epoch
        kept = f"; the last good checkpoint is in {run.directory}" if epoch > 1 else ""
        raise TrainingDiverged(
            f"training diverged: the {what} became {loss} in epoch {epoch}; lower the learning rate "
            f"(now {self.recipe.lr}) or turn off --amp{kept}"
        )

    def weights_info(self) -> WeightsInfo:
        """What the run's weights files say about themselves."""
        run, dataset = self._run(), self.dataset
        return WeightsInfo(
            model=run.model,
            num_classes=dataset.num_classes,
            in_channels=dataset.in_channels,
            input_size=run.recipe.input_size,
            mean=dataset.mean,
            std=dataset.std,
            labels=dataset.classes,
            dataset=dataset.name,
            recipe=run.recipe,
            source=f"zoo train on {device_name(self.device)}",
            versions={"zoo-core": __version__, "torch": torch.__version__},
            **(_parent_fields(self.parent) if self.parent else {}),
        )

    def _final_report(self, run: Run) -> dict[str, Any]:
        """Test loss, accuracy and per-class report of the best weights (the lesson reported the
        last epoch's), with figures in the run folder; whether the mirrored pass helps is decided
        on the validation split and written into the best weights' header."""
        process, state = self.process, self.state
        best = from_main(process, load_weights(run.best_path)[0] if process.is_main else None)
        self.eval_model.load_state_dict(best)
        mirrored = self.evaluate(self.val_split, tta=True) if tests_mirrored(self.recipe) else None
        test = self.evaluate(self.test_split, tta=True, report=True) if self.test_split is not None else None
        val = next((m for m in run.history if m["epoch"] == state.best_epoch), run.history[-1])
        measured = (test.metrics("test") if test else {}) | (
            {"val_accuracy": mirrored.accuracy, "val_accuracy_tta": mirrored.tta_accuracy}
            if mirrored is not None and mirrored.tta_accuracy is not None
            else {}
        )
        if process.is_main:
            info = dataclasses.replace(self.weights_info(), metrics=measured)
            save_weights(best, run.best_path, info.to_metadata())
            if test is not None and self.test_split is not None:
                write_split_report(test, self.test_split, run.directory, title=_title(run), suffix="-test")
        return {
            "model": run.model,
            "recipe": self.recipe.name,
            "dataset": self.dataset.name,
            "trainer": self.recipe.trainer,
            "averager": self.recipe.averager,
            "epochs": state.epoch,
            "best_epoch": state.best_epoch,
            "stopped": self.stop_reason(),
            "steps": state.steps,
            "best_val_loss": val["val_loss"],
            "best_val_accuracy": val["val_accuracy"],
            **(test.metrics("test") if test else {}),
            "test_images": test.count if test else 0,
            **({"test_report": test.report.to_dict()} if test and test.report else {}),
            **(
                {
                    "tta": {
                        **{k: measured[k] for k in ("val_accuracy", "val_accuracy_tta")},
                        "helps": mirrors_help(self.recipe, measured),
                    }
                }
                if "val_accuracy_tta" in measured
                else {}
            ),
            "train_seconds": state.train_seconds,
            "images_per_second": state.images_seen / max(state.train_seconds, 1e-9),
            "device": device_name(self.device),
            "amp": self.amp,
            "channels_last": self.settings.channels_last,
            "world_size": process.world_size,
            "rank_checksums": gather_objects(process, _checksum(self.model)),
            "versions": {
                "zoo-core": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
        }


class TrainingEpoch:
    """One epoch of a trainer's loop: its batches, and the sums of what ``record`` was told."""

    def __init__(self, session: TrainingSession, bar: tqdm | _Quiet | None = None) -> None:
        self.session, self.bar = session, bar or _Quiet()
        device = session.device
        self.loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        self.correct = torch.zeros((), device=device, dtype=torch.int64)
        self.seen = torch.zeros((), device=device, dtype=torch.float64)
        self.lr = session._lr

    def batches(self, *, indices: bool = False) -> Iterator[tuple[torch.Tensor, ...]]:
        """This process's training batches, shuffled and augmented: ``(x, y)``, or ``(x, y,
        index)`` with each image's position in ``session.train_split`` (for per-image caches).
        It ends early when ``--max-steps`` is reached, and drops a last batch of one (batch norm
        cannot train on it)."""
        session = self.session
        session.net.train()
        if session.recipe.freeze_features or session.recipe.lr_features == 0:
            session.model.features.eval()  # frozen: batch norm keeps its running statistics too
        order, size = session.epoch_order(), session.batch_size
        batches = session.train_split.batches(
            size, order=order, augment=session.augment, generator=session.augment_rng
        )
        max_steps = session.settings.max_steps
        for start, (x, y) in zip(range(0, len(order), size), batches, strict=True):
            if len(y) < 2 or (max_steps and session.state.steps >= max_steps):
                break
            yield (x, y, order[start : start + size]) if indices else (x, y)

    def record(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """Count one step's batch in the epoch's loss and accuracy (targets as class indices or
        probabilities) and move the progress bar; no host synchronisation."""
        self.loss_sum += loss.detach().double() * len(targets)
        labels = targets if targets.ndim == 1 else targets.argmax(1)
        self.correct += (logits.argmax(1) == labels).sum()
        self.seen += len(targets)
        self.lr = self.session._lr
        self.bar.update(1)


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


def _parent_fields(parent: WeightsInfo) -> dict[str, Any]:
    """What fine-tuned weights record of the weights they started from, and the preprocessing
    they keep."""
    where = parent.tag or (parent.file.name if parent.file else "?")
    return {
        "interpolation": parent.interpolation,
        "crop_pct": parent.crop_pct,
        "parent": {"model": parent.model, "weights": where, "sha256": parent.sha256 or ""},
    }


def _checksum(model: nn.Module) -> str:
    """sha256 of every parameter and buffer's bytes: equal on every rank when DDP kept them equal."""
    return hashlib.sha256(
        b"".join(
            v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            for v in model.state_dict().values()
        )
    ).hexdigest()


class _Quiet:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, state: TrainingState, run: Run) -> tqdm | _Quiet:
    """A per-epoch progress bar on stderr when it is a terminal, or one that shows nothing (a
    log file gets the epoch lines, not carriage-return frames)."""
    if not enabled or not on_terminal():
        return _Quiet()
    desc = f"epoch {state.epoch}/{run.recipe.epochs}"
    return tqdm(total=total, desc=desc, unit="step", leave=False, file=sys.stderr)


def _title(run: Run) -> str:
    """What a run's figures are of: the model, the data and the run folder."""
    return f"{run.model} on {run.recipe.dataset}, test split ({run.directory.name})"
