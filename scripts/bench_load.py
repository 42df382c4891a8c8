"""Benchmark: `anpr load` against DuckDB's own floor on the same files (issue 11, item 2).

Three measurements, each in its own process so its peak RSS is its own:

- one 40-location month (GM0344 2025-03) loaded into a fresh warehouse;
- twelve such months (GM0344 2025-01..12) loaded one after the other into a fresh warehouse;
- the DuckDB floor for the twelve months: one `create table as select * from read_csv(...)` of
  all T01 files and one of all T02 files (no checks, no line numbers, no register);

and writes them under "## Loader speed" in benchmarks/results.md (rows of another `--label` are
kept, so a run against the old code and one against the new sit side by side):

    .venv/bin/python scripts/bench_load.py --label after
    git archive <old commit> | tar -x -C /tmp/old && .venv/bin/python scripts/bench_load.py --code /tmp/old --label before

Loads run `anpr load --no-audit` (the disclosure audit is its own module and its own cost). The
machine is shared, so wall seconds move with its load; CPU seconds (user + system of the process,
all threads) are reported next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"
HEADING = "## Loader speed"
MUNICIPALITY = "GM0344"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "anpr-bench-load"
FLOOR_SQL = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("set enable_progress_bar = false")
for table, files in (("t01", sys.argv[2].split("|")), ("t02", sys.argv[3].split("|"))):
    con.execute(f"create table {table} as select * from read_csv({files!r})")
print(sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("t01", "t02")))
"""

# Where the CPU goes inside one load: the loader's phases wrapped with process-CPU timers (all
# threads), best of `repeat` loads of the same month into fresh warehouses.
PROFILE_SQL = """
import functools, json, sys, time
from pathlib import Path
from anpr_warehouse.load import checks_v1, loader, validate
PHASES = [
    (validate, "read_delivery", "read the files"),
    (validate, "scan_for_plates", "plate guard (every field, name, manifest string)"),
    (checks_v1, "parse_csv", "CSV parsing (Arrow)"),
    (checks_v1, "_check_code_lists", "code-list checks (SQL)"),
    (checks_v1, "_check_observations", "observation row and duplicate checks (SQL)"),
    (checks_v1, "check_cells", "totals, DST, rounding (SQL)"),
    (loader, "_write", "write: insert into the raw tables, commit"),
]
spent = {}
def timed(fn, label):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - started
    return wrapper
for module, name, label in PHASES:
    setattr(module, name, timed(getattr(module, name), label))
best = None
for i in range(int(sys.argv[3])):
    warehouse = Path(sys.argv[2]) / f"profile{i}.duckdb"
    spent.clear()
    started = time.process_time()
    loader.load_delivery(Path(sys.argv[1]), warehouse, audit=False)
    total = time.process_time() - started
    warehouse.unlink()
    if best is None or total < best["whole load"]:
        best = dict(spent, **{"whole load": total})
print(json.dumps(best))
"""


def deliveries(cache: Path, locations: int) -> list[Path]:
    """The twelve months, generated once into `cache` and reused."""
    folders = sorted(p for p in cache.glob(f"CBS-ANPR-{MUNICIPALITY}-2025MM*-1") if (p / "delivery.json").exists())
    if len(folders) == 12:
        return folders
    sys.path.insert(0, str(ROOT))
    from anpr_warehouse.generate import GenerateRequest, generate_many

    requests = [GenerateRequest(MUNICIPALITY, 2025, month, seed=42, locations=locations) for month in range(1, 13)]
    return sorted(generate_many(requests, cache))


def delivered_rows(folder: Path) -> int:
    manifest = json.loads((folder / "delivery.json").read_text(encoding="utf-8"))
    return sum(entry["rows"] for entry in manifest["files"])


def run_measured(command: list[str], code: Path, jobs: str | None = None) -> dict:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process; fails loudly on a non-zero exit.

    CPU seconds include the load's check workers (the child waits for them, so wait4 counts them);
    peak RSS is the largest single process's, the writer's or one worker's.
    """
    env = dict(os.environ, PYTHONPATH=str(code), ANPR_LOAD_AUDIT="0")
    if jobs is not None:
        env["ANPR_LOAD_JOBS"] = jobs  # the loader's check workers (anpr_warehouse/load/batch.py)
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    out, err = child.stdout.read().decode(), child.stderr.read().decode()
    child.stdout.close()
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... exited {child.returncode}: {(err or out)[-400:]}")
    return {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "stdout": out}


def measure_load(folders: list[Path], code: Path, work: Path, jobs: str | None = None) -> dict:
    warehouse = work / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    command = [sys.executable, "-m", "anpr_warehouse.cli", "load", "--no-audit", "--warehouse", str(warehouse)]
    figures = run_measured(command + [str(f) for f in folders], code, jobs)
    figures["rows"] = sum(delivered_rows(f) for f in folders)
    warehouse.unlink(missing_ok=True)
    return figures


def measure_floor(folders: list[Path], code: Path, work: Path) -> dict:
    database = work / "floor.duckdb"
    database.unlink(missing_ok=True)
    t01 = "|".join(str(f / "T01_Observations.csv") for f in folders)
    t02 = "|".join(str(f / "T02_Observations.csv") for f in folders)
    figures = run_measured([sys.executable, "-c", FLOOR_SQL, str(database), t01, t02], code)
    figures["rows"] = int(figures["stdout"].strip().splitlines()[-1])
    database.unlink(missing_ok=True)
    return figures


def profile(folder: Path, code: Path, work: Path, repeat: int) -> dict[str, float]:
    """CPU seconds per loader phase of one month (best of `repeat` loads)."""
    figures = run_measured([sys.executable, "-c", PROFILE_SQL, str(folder), str(work), str(repeat)], code)
    return json.loads(figures["stdout"].strip().splitlines()[-1])


def row(label: str, case: str, figures: dict, floor: dict | None) -> str:
    ratio = f"{figures['seconds'] / floor['seconds']:.1f}x" if floor else ""
    return (
        f"| {label} | {case} | {figures['rows']} | {figures['seconds']:.1f} | {figures['cpu']:.1f} | "
        f"{figures['rows'] / figures['seconds'] / 1000:.0f} k | {figures['rss_mb']:.0f} | {ratio} |"
    )


SPEED_HEADER = [
    "| code | case | rows | seconds | CPU seconds | rows/s | peak RSS (MB) | x floor (wall) |",
    "|---|---|---|---|---|---|---|---|",
]
PROFILE_HEADER = ["| code | phase of one month's load | CPU seconds |", "|---|---|---|"]


def profile_rows(label: str, phases: dict[str, float]) -> list[str]:
    return [f"| {label} | {phase} | {seconds:.2f} |" for phase, seconds in phases.items()]


def _merge(old_rows: list[str], new_rows: list[str], label: str) -> list[str]:
    """The table rows of other labels kept, this label's replaced; grouped by case in this run's order, then label."""
    kept = [ln for ln in old_rows if not ln.startswith(f"| {label} |")]
    order: dict[str, int] = {}
    for ln in new_rows + kept:
        order.setdefault(ln.split("|")[2], len(order))
    return sorted(kept + new_rows, key=lambda ln: (order[ln.split("|")[2]], ln.split("|")[1]))


def write_section(speed: list[str], phases: list[str], label: str) -> None:
    """Rewrites "## Loader speed": this label's rows replaced, other labels' rows and any "Notes:" paragraph kept."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    old_speed: list[str] = []
    old_phases: list[str] = []
    notes = ""
    if HEADING in text:
        before, _, after = text.partition(HEADING)
        body, sep, rest = after.partition("\n## ")
        rows = [ln for ln in body.splitlines() if ln.startswith("| ") and not ln.startswith("| code ")]
        old_speed = [ln for ln in rows if ln.count("|") == SPEED_HEADER[0].count("|")]
        old_phases = [ln for ln in rows if ln.count("|") == PROFILE_HEADER[0].count("|")]
        notes = "\n\n".join(p for p in body.split("\n\n") if p.startswith("Notes:"))
        tail = sep + rest
    else:
        before, tail = text.rstrip("\n") + "\n\n", ""
    intro = (
        f"{HEADING}\n\nMachine: {os.cpu_count()} CPUs (shared), Python {platform.python_version()}. "
        "`anpr load --no-audit` of GM0344 40-location months into a fresh warehouse, each case in its own process "
        "(peak RSS is that process's); rows are every delivered row (all files); the floor is DuckDB alone reading the "
        "T01 and T02 files of the same months (`create table as select * from read_csv([...])`, no checks). "
        "CPU seconds are user + system of the process, all threads: on a shared machine they move far less than wall "
        "seconds.\n\n"
        "Reproduce: `.venv/bin/python scripts/bench_load.py --label after` (this code) and "
        "`git archive <commit> | tar -x -C /tmp/old && .venv/bin/python scripts/bench_load.py --code /tmp/old --label before`.\n"
    )
    section = (
        intro
        + "\n"
        + "\n".join(SPEED_HEADER + _merge(old_speed, speed, label))
        + "\n\nWhere the CPU goes in one month's load (process CPU per phase, best of 3 loads in one process; "
        + "the rest of the whole load is opening the warehouse, the register and decoding):\n\n"
        + "\n".join(PROFILE_HEADER + _merge(old_phases, phases, label))
        + "\n"
        + (f"\n{notes}\n" if notes else "")
    )
    RESULTS.write_text(before + section + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="after", help="name of the code measured (a table row per label)")
    parser.add_argument("--code", type=Path, default=ROOT, help="a checkout of the code to measure (default: this one)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the twelve months are generated once")
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--jobs", help="ANPR_LOAD_JOBS for the loads (1: checks one by one; default: the loader's choice)")
    args = parser.parse_args()
    folders = deliveries(args.cache, args.locations)
    march = [f for f in folders if "2025MM03" in f.name]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        phases = profile(march[0], args.code, work, repeat=3)
        floor_month = measure_floor(march, args.code, work)
        month = measure_load(march, args.code, work, args.jobs)
        floor_year = measure_floor(folders, args.code, work)
        year = measure_load(folders, args.code, work, args.jobs)
    lines = [
        row(args.label, "DuckDB floor, T01+T02 of one month", floor_month, None),
        row(args.label, "anpr load, one month", month, floor_month),
        row(args.label, "DuckDB floor, T01+T02 of 12 months", floor_year, None),
        row(args.label, "anpr load, 12 months", year, floor_year),
    ]
    print("\n".join(lines + profile_rows(args.label, phases)))
    if not args.no_write:
        write_section(lines, profile_rows(args.label, phases), args.label)


if __name__ == "__main__":
    main()
