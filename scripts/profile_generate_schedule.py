"""How a generated year's months fall on the pool's workers: per month its worker, start, end and CPU seconds.

Why: a year's wall time is its busier worker's, so the tail (one core idle while the other finishes the
last month) is the difference between the two workers' CPU seconds, halved. That difference does not
depend on the machine's load the way wall seconds do, so it can be compared on a shared machine. The
months are handed out in the order the measured tree's `generate_many` uses (`largest_first` if the
tree has it, else request order), to a pool of `--jobs` processes forked as `generate_many` forks them.
It measures the `anpr_warehouse` of the current folder, like scripts/profile_generate_month.py:

    .venv/bin/python scripts/profile_generate_schedule.py [--locations 40] [--jobs 2]
    cd OLD_TREE && /path/to/.venv/bin/python /path/to/scripts/profile_generate_schedule.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the tree to measure: the current folder's anpr_warehouse

import anpr_warehouse.generate as generate  # noqa: E402

STARTED = time.perf_counter()


def _one(request, out: Path) -> tuple[int, int, float, float, float]:
    """(month, worker pid, start s, end s, CPU s) of one delivery, times from the script's start."""
    started, cpu = time.perf_counter(), time.process_time()
    generate.generate_delivery(request, out, 1)
    return request.month, os.getpid(), started - STARTED, time.perf_counter() - STARTED, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    requests = [generate.GenerateRequest("GM0344", 2025, month, locations=args.locations, seed=1) for month in range(1, 13)]
    order = generate.largest_first(requests) if hasattr(generate, "largest_first") else list(range(len(requests)))
    with tempfile.TemporaryDirectory(prefix="genschedule-") as out, ProcessPoolExecutor(args.jobs) as pool:
        runs = [future.result() for future in [pool.submit(_one, requests[i], Path(out)) for i in order]]
    workers = sorted({pid for _, pid, *_ in runs})
    print(f"source: {Path(generate.__file__).parent}; months handed out in order {[requests[i].month for i in order]}")
    print("| month | worker | start s | end s | CPU s |")
    print("|---|---|---|---|---|")
    for month, pid, start, end, cpu in runs:
        print(f"| {month} | {workers.index(pid) + 1} | {start:.1f} | {end:.1f} | {cpu:.2f} |")
    busy = {pid: sum(cpu for _, p, _, _, cpu in runs if p == pid) for pid in workers}
    ends = {pid: max(end for _, p, _, end, _ in runs if p == pid) for pid in workers}
    print()
    for pid in workers:
        print(f"worker {workers.index(pid) + 1}: {busy[pid]:.2f} CPU s, last month ended at {ends[pid]:.1f} s")
    print(
        f"busiest - least busy worker: {max(busy.values()) - min(busy.values()):.2f} CPU s; "
        f"last end - first worker's last end: {max(ends.values()) - min(ends.values()):.1f} s; load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
