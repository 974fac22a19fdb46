"""How a run is executed, as opposed to what it learns (the recipe)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ZooError


@dataclass(frozen=True)
class Settings:
    """Device, precision, limits and data location of a run; kept in ``run.json`` so that a
    resumed run executes as it started."""

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
