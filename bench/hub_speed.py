"""The weights hub's two costs, each as a ratio within one run on one machine.

    python bench/hub_speed.py [--repeat 5]

1. Pull: `zoo`'s download (resumable, sha256-checked before the file is kept) against a plain
   urllib read written to disk, both from `python -m http.server` on 127.0.0.1 serving the
   checkout's weights. Target: at least 80% of urllib's throughput. Beside it, the sha256 of
   the same bytes in memory, which no verified pull can skip, and the fetch against urllib's
   read plus that hash: what the fetch costs beyond the two things it must do.
2. Load from the cache: `create_model(name, weights=TAG)` for a tag a hub offers, its file
   already cached (the hash check remembered by size and mtime), against building the bare model
   and `load_state_dict` of the same file. Target: at most 1.2x.

Medians of --repeat runs, in seconds. Run from the checkout root.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from zoo_core.runtime.devices import cpu_description as describe

ROOT = Path(__file__).resolve().parent.parent


def median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def urllib_read(url: str, target: Path) -> None:
    target.unlink(missing_ok=True)  # as a pull finds it: not there yet
    with urllib.request.urlopen(url) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def pulled(fetch: Callable[..., Path], url: str, target: Path, **kwargs: object) -> None:
    """A pull into an empty place, as the first use of a tag makes it (renaming over an existing
    file makes ext4 flush the new file's data first: milliseconds that no real pull pays)."""
    target.unlink(missing_ok=True)
    fetch(url, target, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zoo-hub-bench-"))
    os.environ["ZOO_HOME"] = str(scratch / "home")

    import torch
    from safetensors.torch import load_file

    import zoo_core as zoo
    from zoo_core.store.download import fetch
    from zoo_core.store.hub import hub_weights, locate
    from zoo_plugins.architectures.shipped_weights import MANIFEST, shipped

    entries = {model: shipped(model)[0] for model in sorted({e.model for e in zoo.read_manifest(MANIFEST)})}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(scratch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        hub = scratch / "hub"
        hub.mkdir()
        offered = []
        for entry in entries.values():
            (hub / entry.url).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.file, hub / entry.url)
            offered.append(dataclasses.replace(entry, tag="bench", file=None))
        zoo.write_manifest(hub / "manifest.json", offered)
        base = f"http://127.0.0.1:{port}/hub/"
        time.sleep(1.0)  # let the server start listening
        print(f"machine: {describe()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
        print()
        print(
            f"{'pull from 127.0.0.1':<28} {'MB':>6} {'urllib s':>9} {'zoo s':>7} {'throughput':>11} "
            f"{'sha256 s':>9} {'zoo / (urllib + sha256)':>24}"
        )
        for name in ("fashion_cnn", "resnet18_small"):
            entry = entries[name]
            url, size = base + entry.url, entry.file.stat().st_size
            plain = median_time(functools.partial(urllib_read, url, scratch / "plain"), args.repeat)
            pull = functools.partial(
                pulled, fetch, url, scratch / "ours", sha256=entry.sha256, what=name, progress=False
            )
            ours = median_time(pull, args.repeat)
            data = entry.file.read_bytes()
            digest = median_time(lambda data=data: hashlib.sha256(data).digest(), args.repeat)
            print(
                f"{name:<28} {size / 1e6:>6.1f} {plain:>9.4f} {ours:>7.4f} {plain / ours:>10.0%} "
                f"{digest:>9.4f} {ours / (plain + digest):>23.2f}x"
            )

        os.environ["ZOO_HUB"] = base
        print()
        print(f"{'load from the cache':<28} {'bare+load s':>11} {'create_model s':>14} {'ratio':>6}")
        for name in ("fashion_cnn", "resnet18_small"):
            cached = locate(hub_weights(name, "bench", base), progress=False).file

            def bare(name: str = name, cached: Path = cached) -> None:
                zoo.create_model(name).load_state_dict(load_file(cached))

            def ours(name: str = name) -> None:
                zoo.create_model(name, weights="bench")

            ours()  # the first load checks the hash once and remembers it, as a user's first use does
            plain, timed = median_time(bare, args.repeat), median_time(ours, args.repeat)
            print(f"{name:<28} {plain:>11.4f} {timed:>14.4f} {timed / plain:>5.2f}x")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
