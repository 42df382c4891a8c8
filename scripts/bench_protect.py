"""Benchmark: what `anpr export --protect`'s choice of extra suppressions costs (seconds) and hides (cells).

Generates GM0344 2025-03 with `--protection table` (each table protected on its own, as CBS does, so
cells are at risk across tables) for 40 locations, and times on it, in this process with `--jobs 2`:
the audit before (min-cell rule, as `--protect` uses), the minimal suppression (`protect_minimal`: a
HiGHS MIP per group with cuts from the audit's LPs) and the protected copy's own audit. On small months
(1 and 2 locations) it also runs the greedy choice (`protect_cells`, what `--protect` used before; it
did not finish a 12-location month in 10 minutes) to compare the number of hidden cells.
Writes the section "## Export --protect" of benchmarks/results.md:

    .venv/bin/python scripts/bench_protect.py [--locations 40] [--note TEXT] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from results_md import write_section as replace_results_section  # scripts/results_md.py

from anpr_warehouse import contract as c
from anpr_warehouse.audit import audit_cells
from anpr_warehouse.audit.cells import cells_from_path
from anpr_warehouse.audit.protect import protect_cells, protect_minimal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"
HEADING = "## Export --protect"
ANPR = str(ROOT / ".venv" / "bin" / "anpr")
JOBS = 2


def generate(out: Path, locations: int, seed: int) -> Path:
    args = [ANPR, "generate", "--municipality", "GM0344", "--month", "2025-03", "--locations", str(locations)]
    args += ["--seed", str(seed), "--protection", "table", "--out", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return Path(proc.stdout.split()[0])


def cpu() -> float:
    """CPU seconds of this process and its finished children (the forked group workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn, *args, **kwargs):
    wall, used = time.perf_counter(), cpu()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, cpu() - used


def big_month(work: Path, locations: int) -> list[str]:
    delivery = cells_from_path(generate(work / f"m{locations}", locations, 1))
    before, audit_wall, audit_cpu = timed(audit_cells, delivery, True, JOBS)
    protection, wall, used = timed(protect_minimal, delivery, True, JOBS, final_audit=False)
    after, after_wall, after_cpu = timed(audit_cells, protection.delivery, True, JOBS)
    stats = protection.stats
    totals = sum(c.TOTAL in cell.dims for cell in protection.suppressed)
    iterations = sorted(it for _, it, _ in stats.per_group)
    return [
        f"GM0344 2025-03, {locations} locations, seed 1, `--protection table`, min-cell rule, `--jobs {JOBS}`: "
        f"{before.cells:,} cells, {before.confidential:,} confidential, **{len(before.at_risk):,} at risk** before.",
        "",
        "| step | wall s | CPU s | result |",
        "|---|---|---|---|",
        f"| audit before | {audit_wall:.1f} | {audit_cpu:.1f} | {len(before.at_risk):,} at risk, {before.exact} exact |",
        f"| minimal suppression (MIP per group) | {wall:.1f} | {used:.1f} | **{len(protection.suppressed):,} cells hidden** "
        f"({totals} of them totals) in {stats.groups_changed:,} of {stats.groups:,} groups; master/check rounds per changed group: "
        f"median {iterations[len(iterations) // 2] if iterations else 0}, max {stats.iterations_max}; {stats.cuts:,} cuts, "
        f"{stats.lps:,} LPs; slowest group {stats.slowest[0]:.1f} s ({stats.slowest[1]:,} variables, "
        f"{stats.slowest[2]} rounds); {stats.unresolved} cells left unresolved |",
        f"| the protected copy's own audit | {after_wall:.1f} | {after_cpu:.1f} | {len(after.at_risk)} at risk |",
    ]


def comparison(work: Path) -> list[str]:
    rows = [
        "| month (`--protection table`, seed 3) | at risk before | greedy: hidden | greedy: s | minimal: hidden | minimal: s | both audit clean |",
        "|---|---|---|---|---|---|---|",
    ]
    for locations in (1, 2):
        delivery = cells_from_path(generate(work / f"s{locations}", locations, 3))
        before = audit_cells(delivery, True, JOBS)
        greedy, greedy_wall, _ = timed(protect_cells, delivery, True, JOBS)
        minimal, minimal_wall, _ = timed(protect_minimal, delivery, True, JOBS)
        clean = not greedy.audit.at_risk and not minimal.audit.at_risk
        rows.append(
            f"| {locations} location(s) | {len(before.at_risk):,} | {len(greedy.suppressed):,} | {greedy_wall:.1f} | "
            f"{len(minimal.suppressed):,} | {minimal_wall:.1f} | {'yes' if clean else 'NO'} |"
        )
        print(rows[-1], flush=True)
    return rows


def write_section(lines: list[str], note: str) -> None:
    load = os.getloadavg()[0]
    section = (
        f'{HEADING}\n\n`scripts/bench_protect.py` (docs/disclosure-audit.md, "Protecting what the warehouse hands on"); '
        f"the 2-core machine, load average {load:.1f} at the end of the run (shared: wall seconds vary with it).\n\n"
        + "\n".join(lines)
        + (f"\n\n{note}" if note else "")
        + "\n\nReproduce: `.venv/bin/python scripts/bench_protect.py`.\n"
    )
    replace_results_section(HEADING, section, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--note", default="")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="protect-bench-"))
    lines = big_month(work, args.locations)
    print("\n".join(lines), flush=True)
    lines += ["", "Greedy against minimal on small months (each with its own final audit):", ""] + comparison(work)
    if not args.no_write:
        write_section(lines, args.note)


if __name__ == "__main__":
    main()
