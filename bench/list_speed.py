"""Cold-start time of `zoo list` (which must not import torch) against `timm.list_models()`.

    python bench/list_speed.py [--repeat 5]

Each run is a fresh process, so imports are paid every time, as a user at a shell pays them.
Prints a table of wall times (median and best) and whether the process imported torch.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time

PROBE = "; import sys; print('torch' in sys.modules, file=sys.stderr)"
CASES = {
    "zoo list": "from zoo_core.cli import cli; cli(['list'], standalone_mode=False)" + PROBE,
    "timm.list_models()": "import timm; timm.list_models()" + PROBE,
}


def time_case(code: str, repeat: int) -> tuple[list[float], bool]:
    times, imported = [], False
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        imported = done.stderr.strip().splitlines()[-1] == "True"
    return times, imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'command':<20} {'median s':>9} {'best s':>7}  imports torch")
    for label, code in CASES.items():
        if label.startswith("timm") and importlib.util.find_spec("timm") is None:
            print(f"{label:<20} {'-':>9} {'-':>7}  (timm not installed: pip install -e '.[bench]')")
            continue
        times, imported = time_case(code, args.repeat)
        print(f"{label:<20} {statistics.median(times):>9.3f} {min(times):>7.3f}  {imported}")


if __name__ == "__main__":
    main()
