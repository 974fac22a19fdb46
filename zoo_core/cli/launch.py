"""Launching `zoo train` under torchrun, and speaking for its workers.

torchrun starts N copies of the command; left alone, a mistake in all of them prints N error
lines and then torchrun's own 40-line ``ChildFailedError`` traceback. Here the workers leave
their one-line error in a folder the launcher made (``ZOO_WORKER_ERRORS``) instead of printing
it, torchrun's own log lines are held back, and the launcher says the first failure once, or,
when a worker died without a word (killed), which rank died and how.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import click

from ..base.errors import ZooError
from ..contract.run import CHECKPOINT_FILE, LAUNCH_ENV

WORKER_ERRORS_ENV = "ZOO_WORKER_ERRORS"  # where a launched worker leaves its one-line error
LAUNCH_OPTIONS = ("--nproc", "--nnodes", "--rdzv-endpoint", "--max-restarts", "--out")
STOP_SECONDS = 60

# torchrun's own output: its logger's lines (W1207 12:00:00.000 123 torch/...), the banner about
# OMP_NUM_THREADS, and the failure report that starts with its traceback
TORCHRUN_LOG = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")
BANNER = re.compile(r"^\*+$|^Setting OMP_NUM_THREADS environment variable")
# what a worker torchrun stopped may print while its interpreter shuts down mid-teardown
DYING = re.compile(r"^Exception ignored in ")
REPORT_START = "Traceback (most recent call last):"
ROOT_CAUSE = re.compile(r"Root Cause.*?rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S)
FAILURE = re.compile(r"rank\s*:\s*(\d+)[^\n]*\n\s*exitcode\s*:\s*(-?\d+)")  # each failed rank of the report


def leave_worker_error(message: str) -> bool:
    """In a launched worker, keep ``message`` for the launcher to say once and return True;
    elsewhere return False (the caller prints it)."""
    folder = os.environ.get(WORKER_ERRORS_ENV)
    if not folder:
        return False
    rank = os.environ.get("RANK", "0")
    try:
        (Path(folder) / f"{time.time_ns()}-{rank}.txt").write_text(message)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Launch:
    """How torchrun runs this command: processes per machine, machines, where they meet, and
    how often a failed group is restarted."""

    nproc: int
    nnodes: int
    endpoint: str | None
    max_restarts: int

    def __post_init__(self) -> None:
        if self.nnodes > 1 and not self.endpoint:
            raise ZooError("--nnodes needs --rdzv-endpoint HOST:PORT, the same on every machine")
        if self.endpoint is not None:
            host, _, port = self.endpoint.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ZooError(f"--rdzv-endpoint must be HOST:PORT, got {self.endpoint!r}")

    @property
    def needs_torchrun(self) -> bool:
        return self.nproc > 1 or self.nnodes > 1 or self.max_restarts > 0

    @property
    def launches(self) -> bool:
        """Whether this process starts torchrun (rather than being one of its workers)."""
        return self.needs_torchrun and "WORLD_SIZE" not in os.environ

    @property
    def speaks_for_the_run(self) -> bool:
        """Whether this process says what the run does: a lone process or rank 0, not the
        launcher (whose workers repeat the command) nor the other ranks."""
        return not self.launches and os.environ.get("RANK", "0") == "0"

    def run(self, out: Path | None, *, debug: bool = False) -> int:
        """Re-run this very command under torchrun, writing to ``out`` (the same folder on
        every restart); return its exit code after saying, once, why it failed. ``debug``:
        torchrun's own output is shown as it comes."""
        errors = Path(tempfile.mkdtemp(prefix="zoo-workers-"))
        # the workers' process group gets a store of its own: on the rendezvous' shared store a
        # restarted gloo group can read the dead group's addresses (pytorch/pytorch#135712)
        env = {
            **os.environ,
            "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1",
            LAUNCH_ENV: uuid.uuid4().hex,
            WORKER_ERRORS_ENV: str(errors),
        }
        try:
            torchrun = subprocess.Popen(self._command(out), env=env, stderr=subprocess.PIPE, text=True)
            held: list[str] = []
            relay = threading.Thread(target=_relay, args=(torchrun.stderr, held, debug), daemon=True)
            relay.start()
            try:
                code = torchrun.wait()
            except BaseException:  # SIGTERM (SystemExit from the zoo's handler) or Ctrl-C
                _stop(torchrun, out)
                raise
            relay.join(timeout=5)
            if code != 0:
                _say_why(errors, "".join(held), out)
            return code
        finally:
            shutil.rmtree(errors, ignore_errors=True)

    def _command(self, out: Path | None) -> list[str]:
        args, skip = [], False
        for arg in sys.argv[1:]:
            if skip:
                skip = False
            elif arg in LAUNCH_OPTIONS:
                skip = True
            elif not arg.startswith(tuple(f"{o}=" for o in LAUNCH_OPTIONS)):
                args.append(arg)
        if self.nnodes == 1 and self.endpoint is None:
            where = ["--standalone"]
        else:
            rdzv_id = "zoo-" + "".join(c if c.isalnum() else "-" for c in str(out))[-60:]
            where = [f"--nnodes={self.nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={self.endpoint}"]
            where.append(f"--rdzv-id={rdzv_id}")
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            *where,
            f"--nproc-per-node={self.nproc}",
            f"--max-restarts={self.max_restarts}",
            "-m",
            "zoo_core",
            *args,
            *(["--out", str(out)] if out is not None else []),
        ]


def _relay(stream: IO[str], held: list[str], debug: bool) -> None:
    """Pass the workers' stderr (warnings, progress) on as it comes; hold back torchrun's own
    lines, and from its failure report on, everything (the launcher sums it up)."""
    reporting = False
    for line in stream:
        reporting = reporting or line.startswith(REPORT_START)
        quiet = reporting or TORCHRUN_LOG.match(line) or BANNER.match(line.strip()) or DYING.match(line)
        if debug or not quiet:
            sys.stderr.write(line)
            sys.stderr.flush()
        else:
            held.append(line)


def _say_why(errors: Path, held: str, out: Path | None) -> None:
    """One line for a failed launch. A worker that died without a word (killed) is the cause,
    whichever rank torchrun happened to see fail first: its peers' errors (a closed connection)
    follow from it. Otherwise the error of the rank torchrun names the root cause, or without
    its report the first error any rank left."""
    left = {int(p.stem.split("-")[1]): p for p in sorted(errors.glob("*.txt"), key=_written_at, reverse=True)}
    failures = {int(rank): int(code) for rank, code in FAILURE.findall(held)}
    killed = [rank for rank, code in failures.items() if code < 0 and rank not in left]
    cause = ROOT_CAUSE.search(held)
    named = (
        int(cause[1]) if cause is not None else min(left, key=lambda r: _written_at(left[r]), default=None)
    )
    if killed:
        _say_death(killed[0], failures[killed[0]], out)
    elif named in left:
        others = " (and the other ranks with it)" if len(left) > 1 else ""
        click.echo(f"Error: {left[named].read_text().strip()}{others}", err=True)
    elif cause is not None:
        _say_death(int(cause[1]), int(cause[2]), out)
    else:
        click.echo("Error: torchrun failed before any worker ran; zoo --debug train shows its log", err=True)


def _say_death(rank: int, code: int, out: Path | None) -> None:
    """How worker ``rank`` ended without a word of its own, and where the run can go on from."""
    how = f"exited with code {code}"
    if code < 0:
        how = "was killed by " + (
            signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        )
    resume = out is not None and (out / CHECKPOINT_FILE).is_file()
    where = f"; zoo train --resume {out} goes on from its last checkpoint" if resume else ""
    click.echo(f"Error: worker rank {rank} {how}{where} (--max-restarts N restarts it)", err=True)


def _written_at(path: Path) -> int:
    return int(path.stem.split("-")[0])


def _stop(torchrun: subprocess.Popen, out: Path | None) -> None:
    """Stop a launched run and every worker: torchrun, sent SIGTERM, stops its workers (which
    run in sessions of their own, out of reach of the terminal's Ctrl-C) before it exits; one
    that does not within STOP_SECONDS is killed. Then say where the run can go on from."""
    torchrun.send_signal(signal.SIGTERM)
    try:
        torchrun.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        torchrun.kill()
        torchrun.wait()
    if out is not None and (out / CHECKPOINT_FILE).is_file():
        click.echo(f"stopped; the last checkpoint is in {out}: zoo train --resume {out} goes on", err=True)
    else:
        click.echo("stopped before the first checkpoint; nothing to resume", err=True)
