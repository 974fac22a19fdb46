"""The trainer: a recipe, a model and a dataset in, a run directory with the best weights and a
report out.

The whole dataset sits on the training device as uint8 and batches are made there
(``device_data``); the loop keeps its sums on the device and synchronises once per epoch.
Every epoch ends with an atomic checkpoint, so ``resume`` continues a killed run exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import platform
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .atomic import atomic_path
from .data import DatasetSpec, ImageSet, get_dataset
from .device_data import DeviceSplit
from .distributed import Process, barrier, from_main, gather_objects, init_process, shutdown, sum_across
from .errors import ZooError
from .evaluation import Evaluation, autocast, evaluate
from .plugins import get_host
from .recipe import Recipe
from .registry import create_model, get_model_spec
from .run import Run, write_json
from .weights import load_weights, save_weights


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class Settings:
    """How a run is executed, as opposed to what it learns (the recipe)."""

    device: str = "auto"
    amp: bool | None = None  # None: bf16 autocast on CUDA, full precision on the CPU
    channels_last: bool = True
    max_steps: int | None = None
    subset: int | None = None
    data_dir: str | None = None
    download: bool = True
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.max_steps is not None and self.max_steps < 1:
            raise ZooError(f"--max-steps must be a positive integer, got {self.max_steps}")
        if self.subset is not None and self.subset < 10:
            raise ZooError(f"--subset must be at least 10 images, got {self.subset}")


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ZooError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ZooError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ZooError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device


def split_train_val(data: ImageSet, recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor]:
    """The recipe's seeded train/validation split of the training images, as index tensors."""
    n = len(data.train_labels)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.seed))
    n_val = int(n * recipe.val_fraction)
    return order[n_val:], order[:n_val]


def weights_metadata(model_name: str, recipe: Recipe, dataset: DatasetSpec) -> dict[str, str]:
    """What a weights file says about itself (all strings, as safetensors requires)."""
    import json

    return {
        "format": "zoo-weights-1",
        "model": model_name,
        "num_classes": str(dataset.num_classes),
        "in_channels": str(dataset.in_channels),
        "input_size": json.dumps(list(recipe.input_size)),
        "mean": json.dumps(list(dataset.mean)),
        "std": json.dumps(list(dataset.std)),
        "labels": json.dumps(list(dataset.classes)),
        "dataset": dataset.name,
        "recipe": json.dumps(recipe.to_dict()),
        "zoo_version": __version__,
        "torch_version": torch.__version__,
    }


class Trainer:
    """One run's model, data, optimizer and early-stopping state, on one process."""

    def __init__(self, model_name: str, recipe: Recipe, settings: Settings, process: Process) -> None:
        self.recipe, self.settings, self.process = recipe, settings, process
        self.device = resolve_device(settings.device)
        if self.device.type == "cuda" and process.distributed:
            self.device = torch.device("cuda", process.local_rank)
            torch.cuda.set_device(self.device)
        self.amp = settings.amp if settings.amp is not None else self.device.type == "cuda"
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
        get_model_spec(model_name)  # an unknown name fails before the data is loaded
        self.dataset = get_dataset(recipe.dataset)
        data = self.dataset.load(
            data_dir=Path(settings.data_dir) if settings.data_dir else None, download=settings.download
        )
        if settings.subset:
            data = data.subset(settings.subset)
        train_idx, val_idx = split_train_val(data, recipe)
        if len(val_idx) == 0 and recipe.patience is not None:
            raise ZooError("early stopping needs validation images: set val_fraction > 0 or --patience 0")

        def split(images: torch.Tensor, labels: torch.Tensor) -> DeviceSplit:
            return DeviceSplit(
                images,
                labels,
                mean=self.dataset.mean,
                std=self.dataset.std,
                input_size=recipe.input_size,
                device=self.device,
                channels_last=settings.channels_last,
            )

        self.train_split = split(data.train_images[train_idx], data.train_labels[train_idx])
        self.val_split = split(data.train_images[val_idx], data.train_labels[val_idx])
        self.test_split = split(data.test_images, data.test_labels)

        if recipe.batch_size % process.world_size:
            raise ZooError(
                f"batch size {recipe.batch_size} does not split over {process.world_size} processes"
            )
        self.batch_size = recipe.batch_size // process.world_size
        shard = len(self.train_split) // process.world_size
        self.steps_per_epoch = math.ceil(shard / self.batch_size)
        total_steps = recipe.epochs * self.steps_per_epoch
        if settings.max_steps:
            total_steps = min(total_steps, settings.max_steps)

        torch.manual_seed(recipe.seed)
        model = create_model(
            model_name, num_classes=self.dataset.num_classes, in_channels=self.dataset.in_channels
        )
        model = model.to(self.device)
        if settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.net: nn.Module = model
        if process.distributed:
            self.net = nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = make_optimizer(model, recipe)
        self.scheduler = make_scheduler(self.optimizer, recipe, total_steps)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)

        torch.manual_seed(recipe.seed + 1 + process.rank)  # dropout differs between ranks
        self.shuffle = torch.Generator().manual_seed(recipe.seed)  # identical on every rank
        self.augment_rng = torch.Generator(self.device).manual_seed(recipe.seed * 1000 + process.rank)
        self.epoch = 0
        self.steps = 0
        self.best_val_loss = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.train_seconds = 0.0
        self.wall_seconds = 0.0
        self.images_seen = 0

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
        rng = gather_objects(self.process, self.rng_state())
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else {},
            "rng": rng,
            "trainer": {
                "epoch": self.epoch,
                "steps": self.steps,
                "best_val_loss": self.best_val_loss,
                "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs,
                "train_seconds": self.train_seconds,
                "wall_seconds": self.wall_seconds,
                "images_seen": self.images_seen,
                "world_size": self.process.world_size,
            },
            "history": history,
        }

    def restore(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        trainer = state["trainer"]
        if trainer["world_size"] != self.process.world_size:
            raise ZooError(
                f"this run was trained on {trainer['world_size']} processes; "
                f"resume it with --nproc {trainer['world_size']}"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler:
            self.scheduler.load_state_dict(state["scheduler"])
        self.set_rng_state(state["rng"][self.process.rank])
        for key in (
            "epoch",
            "steps",
            "best_val_loss",
            "best_epoch",
            "bad_epochs",
            "train_seconds",
            "wall_seconds",
            "images_seen",
        ):
            setattr(self, key, trainer[key])
        return state["history"]

    # -- training ------------------------------------------------------------------------------
    def epoch_order(self) -> torch.Tensor:
        """This process's shard of a fresh permutation (the same permutation on every rank)."""
        n = len(self.train_split)
        order = torch.randperm(n, generator=self.shuffle)
        order = order[: n - n % self.process.world_size][self.process.rank :: self.process.world_size]
        return order.to(self.device)

    def train_epoch(self, progress: Any) -> dict[str, float]:
        self.net.train()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        seen = 0
        batches = self.train_split.batches(
            self.batch_size, order=self.epoch_order(), augment=self.recipe.augment, generator=self.augment_rng
        )
        for x, y in batches:
            if len(y) < 2 or (self.settings.max_steps and self.steps >= self.settings.max_steps):
                break  # a batch of one breaks batch norm; max_steps ends a smoke run early
            with autocast(self.device, self.amp):
                logits = self.net(x)
                loss = self.criterion(logits.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.scheduler:
                self.scheduler.step()
            self.steps += 1
            loss_sum += loss.detach().double() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            progress.update(1)
        totals = sum_across(
            self.process,
            torch.stack([loss_sum, correct.double(), torch.tensor(seen, device=self.device).double()]),
        )
        total_seen = max(totals[2].item(), 1)
        self.images_seen += int(totals[2].item())
        return {"train_loss": totals[0].item() / total_seen, "train_accuracy": totals[1].item() / total_seen}

    def evaluate(self, split: DeviceSplit) -> Evaluation:
        return evaluate(
            self.model,
            split,
            num_classes=self.dataset.num_classes,
            batch_size=self.settings.eval_batch_size,
            tta=self.recipe.tta,
            amp=self.amp,
            process=self.process,
        )

    def stop_reason(self) -> str | None:
        """Why training stops after the current epoch, or None while it goes on."""
        if self.recipe.patience is not None and self.bad_epochs >= self.recipe.patience:
            return f"early stop: no better validation loss for {self.recipe.patience} epochs"
        if self.settings.max_steps is not None and self.steps >= self.settings.max_steps:
            return f"max steps ({self.settings.max_steps}) reached"
        if self.epoch >= self.recipe.epochs:
            return f"all {self.recipe.epochs} epochs done"
        return None


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    params, lr, wd = model.parameters(), recipe.lr, recipe.weight_decay
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov, weight_decay=wd)


def make_scheduler(
    optimizer: torch.optim.Optimizer, recipe: Recipe, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Stepped once per optimizer step; 'constant' has none."""
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=recipe.lr,
            total_steps=max(total_steps, 10),  # it needs steps in each phase; tiny runs stop part-way
            pct_start=0.25,
            anneal_strategy="linear",
            cycle_momentum=False,
        )
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None


class _Quiet:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, epoch: int, epochs: int) -> Any:
    if not enabled:
        return _Quiet()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="step", leave=False, file=sys.stderr)


def _say(process: Process, message: str) -> None:
    if process.is_main:
        print(message, flush=True)


def train(
    model_name: str,
    recipe: Recipe,
    settings: Settings,
    *,
    out: Path | None = None,
    runs_root: Path = Path("runs"),
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model_name`` with ``recipe`` in a new run directory; return the run's report."""
    process = init_process(resolve_device(settings.device))
    try:
        trainer = Trainer(model_name, recipe, settings, process)
        directory = None
        if process.is_main:
            directory = Run.create(model_name, recipe, asdict(settings), out, runs_root).directory
        run = Run(from_main(process, directory), model_name, recipe, asdict(settings))
        try:
            return _fit(trainer, run, progress)
        except BaseException:
            if process.is_main and not run.checkpoint_path.exists():
                run.discard()  # nothing worth keeping yet
            raise
    finally:
        shutdown(process)


def resume(directory: Path, *, settings: Settings | None = None, progress: bool = True) -> dict[str, Any]:
    """Continue the run in ``directory`` from its last checkpoint, exactly where it stopped."""
    run = Run.open(directory)
    if not run.checkpoint_path.is_file():
        raise ZooError(f"{directory} has no checkpoint.pt yet: nothing to resume; start a new run instead")
    settings = settings or Settings(**run.settings)
    process = init_process(resolve_device(settings.device))
    try:
        trainer = Trainer(run.model, run.recipe, settings, process)
        state = torch.load(run.checkpoint_path, map_location=trainer.device, weights_only=True)
        run.history = trainer.restore(state)
        _say(process, f"resuming {run.directory} after epoch {trainer.epoch}")
        return _fit(trainer, run, progress)
    finally:
        shutdown(process)


def _fit(trainer: Trainer, run: Run, progress: bool) -> dict[str, Any]:
    with flush_denormal(trainer.device), FileWriter() as writer:
        return _epochs(trainer, run, progress, writer)


def _epochs(trainer: Trainer, run: Run, progress: bool, writer: FileWriter) -> dict[str, Any]:
    process, recipe = trainer.process, trainer.recipe
    hooks = get_host().pm.hook
    metadata = weights_metadata(run.model, recipe, trainer.dataset)
    wall_start = time.perf_counter() - trainer.wall_seconds
    while trainer.stop_reason() is None:
        trainer.epoch += 1
        bar = _progress(progress and process.is_main, trainer.steps_per_epoch, trainer.epoch, recipe.epochs)
        start = _sync_time(trainer.device)
        try:
            train_metrics = trainer.train_epoch(bar)
        finally:
            bar.close()
        seconds = _sync_time(trainer.device) - start
        trainer.train_seconds += seconds
        if not math.isfinite(train_metrics["train_loss"]):
            kept = f"; the last good checkpoint is in {run.directory}" if trainer.epoch > 1 else ""
            raise TrainingDiverged(
                f"training diverged: the loss became {train_metrics['train_loss']} in epoch "
                f"{trainer.epoch}; lower the learning rate (now {recipe.lr}) or turn off --amp{kept}"
            )
        val = trainer.evaluate(trainer.val_split)
        improved = val.loss < trainer.best_val_loss
        jobs = []
        if improved:
            trainer.best_val_loss, trainer.best_epoch, trainer.bad_epochs = val.loss, trainer.epoch, 0
            jobs.append((save_weights, to_cpu(trainer.model.state_dict()), run.best_path, metadata))
        else:
            trainer.bad_epochs += 1
        metrics = {
            "epoch": trainer.epoch,
            **train_metrics,
            "val_loss": val.loss,
            "val_accuracy": val.accuracy,
            "lr": trainer.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "steps": trainer.steps,
        }
        run.history.append(metrics)
        trainer.wall_seconds = time.perf_counter() - wall_start
        jobs.append((_save_checkpoint, to_cpu(trainer.checkpoint(run.history)), run.checkpoint_path))
        if process.is_main:
            writer.submit(jobs)  # written while the next epoch trains
            hooks.zoo_train_epoch_end(run=run, metrics=metrics)
        _say(
            process,
            f"epoch {trainer.epoch:>3}/{recipe.epochs}  train loss {metrics['train_loss']:.4f} "
            f"acc {metrics['train_accuracy']:.4f}  val loss {val.loss:.4f} acc {val.accuracy:.4f}  "
            f"{seconds:.1f}s{'  *' if improved else ''}",
        )
    writer.wait()
    if process.is_main:  # the final weights, before the report loads the best ones into the model
        save_weights(trainer.model.state_dict(), run.last_path, metadata)
    report = _final_report(trainer, run)
    report["wall_seconds"] = time.perf_counter() - wall_start
    if process.is_main:
        write_json(run.report_path, report)
        hooks.zoo_train_end(run=run, report=report)
        print(
            f"{trainer.stop_reason()}; best epoch {report['best_epoch']}: test accuracy "
            f"{report['test_accuracy']:.4f}, loss {report['test_loss']:.4f} ({run.directory})",
            flush=True,
        )
    barrier(process)  # rank 0 wrote the report and curves; leave the process group together
    return report


def _final_report(trainer: Trainer, run: Run) -> dict[str, Any]:
    """Test loss and accuracy of the best weights (the lesson reported the last epoch's)."""
    best = from_main(trainer.process, load_weights(run.best_path)[0] if trainer.process.is_main else None)
    trainer.model.load_state_dict(best)
    test = trainer.evaluate(trainer.test_split)
    val = min(run.history, key=lambda m: m["val_loss"])
    checksum = hashlib.sha256(
        b"".join(
            v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            for v in trainer.model.state_dict().values()
        )
    ).hexdigest()
    return {
        "model": run.model,
        "recipe": trainer.recipe.name,
        "dataset": trainer.dataset.name,
        "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "stopped": trainer.stop_reason(),
        "steps": trainer.steps,
        "best_val_loss": val["val_loss"],
        "best_val_accuracy": val["val_accuracy"],
        "test_loss": test.loss,
        "test_accuracy": test.accuracy,
        "test_images": test.count,
        "train_seconds": trainer.train_seconds,
        "images_per_second": trainer.images_seen / max(trainer.train_seconds, 1e-9),
        "device": _device_name(trainer.device),
        "amp": trainer.amp,
        "channels_last": trainer.settings.channels_last,
        "world_size": trainer.process.world_size,
        "rank_checksums": gather_objects(trainer.process, checksum),
        "versions": {"zoo": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }


def _save_checkpoint(state: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def to_cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor copied to the CPU, safe to write on
    another thread while training changes the originals."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: to_cpu(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(to_cpu(v) for v in state)
    return state


class FileWriter:
    """Writes a run's files on one background thread, one epoch's batch at a time, so training
    continues while a checkpoint goes to disk; each write is atomic, so a kill loses at most
    the epoch in flight. A failed write surfaces at the next ``submit`` or at ``wait``."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-writer")
        self._pending: list[Future] = []

    def submit(self, jobs: list[tuple[Any, ...]]) -> None:
        self.wait()
        self._pending = [self._pool.submit(fn, *args) for fn, *args in jobs]

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self.wait()
            else:  # the run already failed: finish what is in flight, keep the first error
                with contextlib.suppress(Exception):
                    self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _sync_time(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"


@contextlib.contextmanager
def flush_denormal(device: torch.device) -> Iterator[None]:
    """On the CPU, denormal floats are flushed to zero while training (they slow x86 math)."""
    if device.type != "cpu":
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
