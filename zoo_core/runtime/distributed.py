"""Data-parallel training under torchrun: who this process is, and the few collectives the
trainer needs. Without torchrun's environment everything is a single process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Process:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    nodes: int = 1
    restarts: int = 0  # how often torchrun restarted the group before this attempt

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def describe(self) -> str:
        """'2 processes on 2 nodes', or '' for a single process."""
        if not self.distributed:
            return ""
        return f"{self.world_size} processes on {self.nodes} node{'s' if self.nodes > 1 else ''}"


def init_process(device: torch.device) -> Process:
    """Join torchrun's process group (NCCL on CUDA, gloo on the CPU), if launched by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    restarts = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    if world_size == 1:
        return Process(restarts=restarts)  # torchrun may restart a single worker too
    process = Process(
        int(os.environ["RANK"]),
        world_size,
        int(os.environ.get("LOCAL_RANK", "0")),
        nodes=int(os.environ.get("GROUP_WORLD_SIZE", "1")),
        restarts=restarts,
    )
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return process


def barrier(process: Process) -> None:
    """Wait for every process, so that none tears the group down while another still works."""
    if process.distributed:
        dist.barrier()


def shutdown(process: Process) -> None:
    if process.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(process: Process, tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``tensor`` over all processes."""
    if process.distributed:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def gather_objects(process: Process, obj: Any) -> list[Any]:
    """``obj`` from every process, in rank order (small metadata only)."""
    if not process.distributed:
        return [obj]
    out: list[Any] = [None] * process.world_size
    dist.all_gather_object(out, obj)
    return out


def from_main(process: Process, obj: Any) -> Any:
    """Rank 0's ``obj`` on every process."""
    if not process.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(order: torch.Tensor, process: Process) -> torch.Tensor:
    """``process``'s share of an epoch's ``order``: every world_size-th index from its rank, so
    the shards are disjoint and equal in length (the last ``len % world_size`` indices, a
    different few each epoch, wait for the next), and step k of every rank together covers the
    images a single process would take at step k with the whole batch."""
    usable = len(order) - len(order) % process.world_size
    return order[:usable][process.rank :: process.world_size]
