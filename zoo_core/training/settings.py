"""How a run is executed, as opposed to what it learns (the recipe)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..base.errors import ZooError
from ..data.splits import DataOptions


@dataclass(frozen=True)
class Settings:
    """Device, precision, limits and data location of a run; kept in ``run.json`` so that a
    resumed run executes as it started."""

    device: str = "auto"
    amp: bool | None = None  # None: bf16 autocast where the device has bf16 (devices.native_bf16)
    channels_last: bool = True
    max_steps: int | None = None
    subset: int | None = None
    data_dir: str | None = None
    download: bool = True
    data_cache: bool | None = None  # None: resident when the decoded images fit the memory budget
    workers: int | None = None
    weights: str | None = None  # the trained weights the run starts from (fine-tuning)
    eval_batch_size: int | None = None  # None: the device's (devices.eval_batch_size)
    loggers: tuple[str, ...] = ()  # registered loggers the run writes to, beside the hooks

    def __post_init__(self) -> None:
        object.__setattr__(self, "loggers", tuple(self.loggers))  # a list when read from run.json
        if self.max_steps is not None and self.max_steps < 1:
            raise ZooError(f"--max-steps must be a positive integer, got {self.max_steps}")
        if self.subset is not None and self.subset < 10:
            raise ZooError(f"--subset must be at least 10 images, got {self.subset}")
        if self.workers is not None and self.workers < 0:
            raise ZooError(f"--workers must be 0 (decode in the main process) or more, got {self.workers}")

    def data_options(self, interpolation: str, crop_pct: float = 1.0) -> DataOptions:
        return DataOptions(
            data_dir=Path(self.data_dir) if self.data_dir else None,
            download=self.download,
            subset=self.subset,
            cache=self.data_cache,
            workers=self.workers,
            interpolation=interpolation,
            crop_pct=crop_pct,
        )
