"""Where a generated month's CPU goes: CPU seconds per phase of `anpr generate` (default protection), in one process.

Why: the generator's speed target is a 40-location year in seconds, and the months already run one
process per core, so CPU seconds per month are what is left to cut. Each phase function is wrapped and
timed with `time.process_time` (DuckDB on one thread, as in the pool workers); "outside the phases" is
the rest of `generate_delivery` (connection, registering the sources, code lists). It measures the
`anpr_warehouse` of the current folder, so an older tree (e.g. a `git archive` of a commit) is measured
by running it from there (a phase the tree does not have is left out and shown as n/a):

    .venv/bin/python scripts/profile_generate_month.py [--locations 40] [--json] [MONTH ...]
    cd OLD_TREE && /path/to/.venv/bin/python /path/to/scripts/profile_generate_month.py 3 7

`scripts/bench_generate_year.py` runs it from both trees it compares (`--json`) and prints them side by side.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the tree to measure: the current folder's anpr_warehouse

import anpr_warehouse.generate as generate  # noqa: E402
import anpr_warehouse.generate.audit_pass as audit_pass  # noqa: E402
import anpr_warehouse.generate.sdc as sdc  # noqa: E402

PHASES = [
    (generate, "simulate_month", "simulation"),
    (sdc, "build_cells", "cell grids (build_cells)"),
    (sdc, "suppress_linked", "linked rules"),
    (sdc, "observations", "observations"),
    (audit_pass, "read_location_days", "read location-days"),
    (audit_pass, "certify", "location-day network check"),
    (audit_pass, "delivery_cells", "cells for the audit (delivery_cells)"),
    # the LP greedy as audit_pass calls it: the zone groups before zone_greedy, now the uncertified location-days
    (audit_pass, "protect_cells", "LP audit and greedy rounds (protect_cells)"),
    (audit_pass, "protect_zone_cells", "zone greedy, with groups it gives back (protect_zone_cells)"),
    (generate, "write_v1", "write"),
]
OUTSIDE = "outside the phases"
TOTAL = "total"


def profile(months: list[int], locations: int) -> dict[str, float | None]:
    """CPU seconds per phase label, averaged over `months` (None: the tree has no such phase)."""
    spent: dict[str, float] = {}

    def timed(function, label):
        @functools.wraps(function)
        def wrapper(*a, **k):
            started = time.process_time()
            try:
                return function(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - started

        return wrapper

    present = [(module, name, label) for module, name, label in PHASES if hasattr(module, name)]
    for module, name, label in present:
        setattr(module, name, timed(getattr(module, name), label))
    started = time.process_time()
    with tempfile.TemporaryDirectory(prefix="genprofile-") as out:
        for month in months:
            request = generate.GenerateRequest("GM0344", 2025, month, locations=locations, seed=1)
            generate.generate_delivery(request, Path(out), duckdb_threads=1)
    total = time.process_time() - started
    split: dict[str, float | None] = {label: None for _, _, label in PHASES}
    split.update({label: spent.get(label, 0.0) / len(months) for _, _, label in present})
    split[OUTSIDE] = (total - sum(spent.values())) / len(months)
    split[TOTAL] = total / len(months)
    return split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("months", nargs="*", type=int, default=[3])
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print {phase: CPU s per month} as JSON, nothing else")
    args = parser.parse_args()
    split = profile(args.months, args.locations)
    if args.json:
        print(json.dumps({"source": str(Path(generate.__file__).parent), "phases": split}))
        return 0
    print(f"source: {Path(generate.__file__).parent}")
    print(f"| phase | CPU s per month ({args.locations} locations, months {', '.join(map(str, args.months))}) |")
    print("|---|---|")
    for label, seconds in split.items():
        shown = "n/a" if seconds is None else f"{seconds:.2f}"
        print(f"| **{label}** | **{shown}** |" if label == TOTAL else f"| {label} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
