"""Full build versus one more month built incrementally, on deliveries made by `anpr generate`.

Why: the incremental build is worth having only if one more month costs a small part of a full build;
this measures both on the same warehouse (each command in its own process, wall time and peak RSS) and
prints a Markdown table for benchmarks/results.md ("Incremental build").

    anpr generate --municipality GM0344 --month 2025-01 --through 2026-01 --locations 40 --protection linked --out DIR
    .venv/bin/python scripts/bench_incremental.py DIR --last CBS-ANPR-GM0344-2026MM01-1 --work /tmp/bench_incr
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from anpr_warehouse.paths import PROJECT_ROOT

ANPR = (
    "import resource, runpy, sys; sys.argv = ['anpr', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('anpr_warehouse.cli', run_name='__main__')\n"
    "finally:\n    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)
# The snapshot `anpr build` ends with, alone: is copying the marts the bottleneck after an incremental build?
PUBLISH = (
    "import resource, sys; from pathlib import Path; from anpr_warehouse.snapshots import publish_snapshot\n"
    "publish_snapshot(Path(sys.argv[1]))\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)


def dbt_seconds() -> str:
    """Node time of the last dbt invocation by kind (run_results.json): models versus tests versus the rest."""
    results = json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())
    by_kind: dict[str, float] = {}
    for result in results["results"]:
        kind = result["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + result["execution_time"]
    return (
        f"dbt {results['elapsed_time']:.1f} s wall; node seconds: models {by_kind.get('model', 0):.1f}, "
        f"data tests {by_kind.get('test', 0):.1f}, other {sum(by_kind.values()) - by_kind.get('model', 0) - by_kind.get('test', 0):.1f}"
    )


def run(label: str, *args: str, code: str = ANPR) -> tuple[str, float, float, str]:
    """One command in its own process: (label, seconds, peak RSS in MB of that process, dbt's own figures)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ANPR_LOAD_AUDIT": os.environ.get("ANPR_LOAD_AUDIT", "0")},
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stderr[-3000:]}")
    peak = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    return label, seconds, int(peak[-1]) / 1024 if peak else float("nan"), dbt_seconds() if "build" in args else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("deliveries", type=Path, help="folder of generated deliveries")
    parser.add_argument("--last", required=True, help="the delivery (folder name) loaded after the full build")
    parser.add_argument("--work", type=Path, required=True, help="empty folder for the warehouse")
    args = parser.parse_args()
    warehouse = str(args.work / "anpr.duckdb")
    first = sorted(str(p) for p in args.deliveries.iterdir() if p.name != args.last)
    rows = [
        run(f"load {len(first)} deliveries", "load", *first, "--warehouse", warehouse),
        run("full build (anpr build --full-refresh)", "build", "--full-refresh", "--warehouse", warehouse),
        run("build again, nothing changed", "build", "--warehouse", warehouse),
        run("load one more month", "load", str(args.deliveries / args.last), "--warehouse", warehouse),
        run("one more month (anpr build, incremental)", "build", "--warehouse", warehouse),
        run("of which: publishing the snapshot, alone", warehouse, code=PUBLISH),
    ]
    print(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}; load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| step | seconds | peak RSS (MB) | inside dbt |\n|---|---|---|---|")
    for label, seconds, peak, inside in rows:
        print(f"| {label} | {seconds:.1f} | {peak:.0f} | {inside} |")


if __name__ == "__main__":
    main()
