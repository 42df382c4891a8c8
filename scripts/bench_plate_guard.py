"""Benchmark: seconds the licence-plate guard takes on one municipality-month with 40 locations.

Times `scan_for_plates` alone (the delivery is read into memory first, as the loader does) and
writes the figure under "## Plate guard" in benchmarks/results.md, replacing an earlier one:

    .venv/bin/python scripts/bench_plate_guard.py            # generate GM0344 2025-03, 40 locations, measure, write
    .venv/bin/python scripts/bench_plate_guard.py --delivery DIR --no-write
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from results_md import write_section as replace_results_section  # scripts/results_md.py

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"
HEADING = "## Plate guard"


def measure(delivery: Path, repeat: int) -> dict:
    from anpr_warehouse.load.problems import Collector
    from anpr_warehouse.load.reader import read_delivery
    from anpr_warehouse.load.validate import scan_for_plates

    raw, _ = read_delivery(delivery)
    seconds = []
    for _ in range(repeat):
        problems = Collector()
        started = time.perf_counter()
        scan_for_plates(raw, problems)
        seconds.append(time.perf_counter() - started)
    rows = sum(data.count(b"\n") for data in raw.files.values())
    return {
        "best": min(seconds),
        "median": statistics.median(seconds),
        "rows": rows,
        "megabytes": sum(map(len, raw.files.values())) / 1e6,
        "problems": len(problems.problems),
    }


def write_section(figures: dict, note: str) -> None:
    section = (
        f"{HEADING}\n\nThe licence-plate guard (`scan_for_plates`: plates, digests and the text rule over every field, "
        f"name and manifest string) on GM0344 2025-03 with 40 locations ({figures['rows']} lines, "
        f"{figures['megabytes']:.1f} MB): best {figures['best']:.2f} s, median {figures['median']:.2f} s. {note}\n\n"
        "Reproduce: `.venv/bin/python scripts/bench_plate_guard.py`.\n"
    )
    replace_results_section(HEADING, section, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delivery", type=Path, help="a delivery folder (default: generate one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--note", default="")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    delivery = args.delivery
    if delivery is None:
        from anpr_warehouse.generate import GenerateRequest, generate_delivery

        delivery = generate_delivery(
            GenerateRequest("GM0344", 2025, 3, seed=42, locations=40), Path(tempfile.mkdtemp(prefix="plates-bench-"))
        )
    figures = measure(delivery, args.repeat)
    print(
        f"plate guard: best {figures['best']:.3f} s, median {figures['median']:.3f} s, {figures['rows']} lines, "
        f"{figures['megabytes']:.1f} MB, {figures['problems']} problem(s)"
    )
    if not args.no_write:
        write_section(figures, args.note)


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    main()
