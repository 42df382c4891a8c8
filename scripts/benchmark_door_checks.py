"""Benchmark: what the door's checks cost on a 40-location month, against a baseline commit.

Times `anpr load` of one generated month (GM0344, April 2025: no daylight-saving day, so both
versions load it) into a fresh warehouse, in its own process, for this checkout and for
`--baseline` (a git ref, exported with `git archive`), alternating runs so machine noise hits
both alike; also the seconds spent in the cross-cell checks (totals, DST, rounding).
Writes benchmarks/door_checks.md.

    .venv/bin/python scripts/benchmark_door_checks.py --baseline e4a95ca [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MONTH = "2025-04"
LOCATIONS = 40

CROSS_CELL = """
import sys, time
from pathlib import Path
import duckdb
from anpr_warehouse.load import checks_v1
from anpr_warehouse.load.problems import Collector
from anpr_warehouse.load.reader import read_delivery
spent = []
inner = checks_v1.check_cells
def timed(*args):
    start = time.perf_counter(); inner(*args); spent.append(time.perf_counter() - start)
checks_v1.check_cells = timed
raw, _ = read_delivery(Path(sys.argv[1]))
checks_v1.check_v1(raw, duckdb.connect(), Collector())
print(spent[0])
"""


def _load_seconds(code: Path, delivery: Path, work: Path) -> float:
    warehouse = work / "wh.duckdb"
    warehouse.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "anpr_warehouse.cli", "load", str(delivery), "--warehouse", str(warehouse)],
        cwd=code,
        env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git ref without the new checks")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = work / "baseline"
        baseline.mkdir()
        archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        subprocess.run(
            [
                PYTHON,
                "-m",
                "anpr_warehouse.cli",
                "generate",
                "--municipality",
                "GM0344",
                "--month",
                MONTH,
                "--locations",
                str(LOCATIONS),
                "--out",
                str(work / "d"),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        (delivery,) = (work / "d").iterdir()
        rows = sum(len(p.read_bytes().splitlines()) - 1 for p in delivery.glob("*.csv"))
        times: dict[str, list[float]] = {"baseline": [], "now": []}
        for _ in range(args.runs):
            times["baseline"].append(_load_seconds(baseline, delivery, work))
            times["now"].append(_load_seconds(ROOT, delivery, work))
        cross = [
            float(
                subprocess.run(
                    [PYTHON, "-c", CROSS_CELL, str(delivery)], cwd=ROOT, check=True, capture_output=True, text=True
                ).stdout
            )
            for _ in range(args.runs)
        ]
    median = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        "# Door checks: cost of the load-time contract checks",
        "",
        f"Scenario: `anpr load` of GM0344 {MONTH}, {LOCATIONS} locations ({rows} data rows), fresh warehouse, "
        f"{args.runs} alternating runs each. Machine: Python {platform.python_version()}, {platform.platform()}.",
        "",
        f"Reproduce: `.venv/bin/python scripts/benchmark_door_checks.py --baseline {args.baseline} --runs {args.runs}`.",
        "",
        "| code | median load (s) | min (s) | max (s) |",
        "|---|---|---|---|",
        *(
            f"| {'before (' + args.baseline + ')' if k == 'baseline' else 'after (this checkout)'} | {median[k]:.2f} | "
            f"{min(v):.2f} | {max(v):.2f} |"
            for k, v in times.items()
        ),
        "",
        f"Cross-cell checks alone (minimum totals, totals not below parts, DST hour, rounding): median "
        f"{statistics.median(cross):.2f} s (min {min(cross):.2f}, max {max(cross):.2f}).",
        "",
    ]
    out = ROOT / "benchmarks" / "door_checks.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
