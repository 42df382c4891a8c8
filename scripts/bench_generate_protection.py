"""Benchmark: what the generator's linked-table protection buys (cells at risk) and costs (seconds).

For each `--protection` (table, linked, audited) it generates the 12-location sample month
(GM0344 2025-03, seed 1) and audits it with the min-cell rule (`anpr audit --min-cell-rule`), then
times one 40-location month per protection and the 40-location year with `linked` (and, with
`--audited-year`, with `audited`: minutes). Each run is `anpr generate` in its own process.
Writes the section "## Generator: linked-table protection" of benchmarks/results.md:

    .venv/bin/python scripts/bench_generate_protection.py [--audited-year] [--note TEXT] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from results_md import write_section as replace_results_section  # scripts/results_md.py

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"
HEADING = "## Generator: linked-table protection"
ANPR = str(ROOT / ".venv" / "bin" / "anpr")
PROTECTIONS = ("table", "linked", "audited")


def generate(out: Path, protection: str, locations: int, through: str | None = None) -> tuple[float, Path]:
    args = [
        ANPR,
        "generate",
        "--municipality",
        "GM0344",
        "--month",
        "2025-03" if through is None else "2025-01",
        "--locations",
        str(locations),
        "--seed",
        "1",
        "--protection",
        protection,
        "--out",
        str(out),
    ]
    if through:
        args += ["--through", through]
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, "ANPR_GENERATE_PROTECTION": protection}
    )
    CPU_SECONDS.append(_children_cpu() - cpu)
    return time.perf_counter() - started, Path(proc.stdout.split()[0])


CPU_SECONDS: list[float] = []  # CPU seconds of each generate run, in order (the shared machine's wall seconds vary)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def audit(folder: Path) -> dict:
    proc = subprocess.run([ANPR, "audit", str(folder), "--min-cell-rule", "--jobs", "2"], capture_output=True, text=True)
    first = proc.stdout.splitlines()[0]
    numbers = {key: int(value.replace(",", "")) for value, key in re.findall(r"([\d,]+) (confidential|at risk)", first)}
    numbers["exact"] = int(re.search(r"([\d,]+) exact", first).group(1).replace(",", ""))
    return numbers


def measure(audited_year: bool) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="genprotect-bench-"))
    rows = [
        "| protection | 12-location month: seconds | confidential | at risk | exact | 40-location month: seconds | 40-location year: seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for protection in PROTECTIONS:
        seconds, folder = generate(work / f"m12-{protection}", protection, 12)
        found = audit(folder)
        month40, _ = generate(work / f"m40-{protection}", protection, 40)
        month40_cpu = CPU_SECONDS[-1]
        year = ""
        if protection != "audited" or audited_year:
            year = (
                f"{generate(work / f'y40-{protection}', protection, 40, through='2025-12')[0]:.1f} ({CPU_SECONDS[-1]:.1f} CPU s)"
            )
        rows.append(
            f"| {protection} | {seconds:.1f} | {found['confidential']:,} | {found['at risk']:,} | {found['exact']} "
            f"| {month40:.1f} ({month40_cpu:.1f} CPU s) | {year} |"
        )
        print(rows[-1], flush=True)
    return rows


def write_section(rows: list[str], note: str) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    section = (
        f"{HEADING}\n\n`anpr generate --protection table|linked|audited` (docs/disclosure-audit.md), audited with "
        "`anpr audit --min-cell-rule` (the load's attacker). Seconds are wall-clock `anpr generate` runs on the 2-core "
        f"machine (`--jobs` default); load average at the end of the run {load} (shared machine: wall seconds vary "
        f"with it).\n\n" + "\n".join(rows) + f"\n\n{note}\n\n"
        "Reproduce: `.venv/bin/python scripts/bench_generate_protection.py [--audited-year]`.\n"
    )
    replace_results_section(HEADING, section, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audited-year", action="store_true", help="also time the 40-location year with --protection audited")
    parser.add_argument("--note", default="")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = measure(args.audited_year)
    if not args.no_write:
        write_section(rows, args.note)


if __name__ == "__main__":
    main()
