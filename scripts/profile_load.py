"""Where a load's CPU goes: each delivery's checks and its write, one by one in this process.

Why: `anpr load` of many deliveries runs the checks in worker processes and the write in one
writer (anpr_warehouse/load/batch.py), so its wall time is bounded by the CPU both halves need
together on the cores there are. This script measures the two halves apart (CPU seconds of the
whole process, DuckDB's threads included, one thread each as in a batch), so a change to either
half can be judged on a loaded machine, where wall seconds say little.

    .venv/bin/python scripts/profile_load.py --warehouse /tmp/profile.duckdb DELIVERY...
    .venv/bin/python scripts/profile_load.py --profile write --warehouse /tmp/p.duckdb DELIVERY  # cProfile of the write

The warehouse given is replaced.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

from anpr_warehouse.load.loader import check_for_load, load_checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deliveries", nargs="+", type=Path)
    parser.add_argument("--warehouse", type=Path, required=True, help="replaced by this run")
    parser.add_argument("--profile", choices=("check", "write"), help="print cProfile's top functions of that half")
    args = parser.parse_args()
    args.warehouse.unlink(missing_ok=True)
    totals = {"check": 0.0, "write": 0.0}
    for path in args.deliveries:
        spent = {}
        started = time.process_time()
        with _profiled(args.profile == "check"):
            checked = check_for_load(path, threads=1)
        spent["check"] = time.process_time() - started
        started = time.process_time()
        with _profiled(args.profile == "write"):
            load_checked(checked, args.warehouse, audit=False, threads=1)
        spent["write"] = time.process_time() - started
        for half, seconds in spent.items():
            totals[half] += seconds
        print(f"{path.name}: check {spent['check']:.2f} CPU s, write {spent['write']:.2f} CPU s", flush=True)
    n = len(args.deliveries)
    print(
        f"{n} deliveries: check {totals['check']:.2f} CPU s ({totals['check'] / n:.2f} each), "
        f"write {totals['write']:.2f} CPU s ({totals['write'] / n:.2f} each); load average {os.getloadavg()[0]:.1f}"
    )


class _profiled:
    """cProfile around a block when asked, its 20 most expensive functions printed after it."""

    def __init__(self, enabled: bool):
        self.profile = cProfile.Profile() if enabled else None

    def __enter__(self) -> None:
        if self.profile:
            self.profile.enable()

    def __exit__(self, *exc: object) -> None:
        if self.profile:
            self.profile.disable()
            pstats.Stats(self.profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
