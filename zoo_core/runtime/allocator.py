"""The process's memory allocator: how the memory torch frees on the CPU is kept for reuse."""

from __future__ import annotations

import ctypes
import os

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory() -> None:
    """Have glibc's malloc keep the memory that torch frees for its next allocation rather than
    hand it back to the OS. By default blocks of the sizes a training step allocates on the CPU
    are mapped and unmapped, or trimmed off the heap, every step, so each step faults their pages
    in afresh: on the 2-core CPUs here a third of an epoch of the lesson's CNN (3.5 million page faults,
    3 s of system time per epoch). PyTorch's CPU tuning guide gets the same from preloading
    jemalloc or tcmalloc. The price is memory kept at its peak (about 10% more for a run). The
    ``zoo`` command sets it as it starts; a script that trains in process may call it too.
    Without glibc it does nothing."""
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # a system that does not know the name has no glibc
        return
    if not libc.startswith("glibc"):
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(M_MMAP_THRESHOLD, 32 << 20)  # blocks up to 32 MiB (glibc's maximum) from the heap
    mallopt(M_TRIM_THRESHOLD, 1 << 30)  # keep up to 1 GiB of freed heap for reuse
    mallopt(M_TOP_PAD, 64 << 20)  # and grow the heap 64 MiB at a time
