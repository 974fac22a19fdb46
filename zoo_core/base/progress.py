"""Progress for long steps that would otherwise be silent: a bar on a terminal, nothing in a log."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")


def on_terminal() -> bool:
    """Whether stderr is a terminal: bars are drawn there, and never into a log file (whose
    readers get carriage-return frames, not progress)."""
    return sys.stderr.isatty()


def progress(items: Iterable[Item], *, total: int | None, desc: str, unit: str = "batch") -> Iterator[Item]:
    """``items``, counted on a bar on stderr that disappears when done (a terminal only), for
    steps such as a teacher's logits or an export's accuracy check that take minutes."""
    if not on_terminal():
        yield from items
        return
    from tqdm import tqdm  # imported by the steps that draw bars only

    with tqdm(items, total=total, desc=desc, unit=unit, leave=False, file=sys.stderr) as bar:
        yield from bar


def batches_in(count: int, batch_size: int) -> int:
    """How many batches of ``batch_size`` hold ``count`` items: a bar's total."""
    return math.ceil(count / batch_size)
