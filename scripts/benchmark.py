"""Benchmark: times and peak memory of generate, load, build, export, metric queries and report.

Each phase runs in its own process so its peak memory (max RSS) is its own.
Results go to benchmarks/results.json and benchmarks/results.md; rerun with

    .venv/bin/python scripts/benchmark.py            # one municipality-year, 40 locations
    .venv/bin/python scripts/benchmark.py --quick    # 3 months, 12 locations (a smoke run)
    .venv/bin/python scripts/benchmark.py --municipalities 4 --work /work/bench-work/n4   # national scale

`--municipalities N` (N municipality-years of 40 locations; the flag alone means 4) measures the monthly
run at national scale and writes the section "## National scale (--municipalities N)" of results.md;
see NATIONAL_PHASES below. `--phases` runs a subset, `--work DIR --reuse` resumes a long run in DIR
(generate and load are skipped when DIR already holds the deliveries and the warehouse).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MUNICIPALITY = "GM0344"


def _phase_generate(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.generate import GenerateRequest, generate_many

    requests = [GenerateRequest(MUNICIPALITY, 2025, month, seed=42, locations=locations) for month in range(1, months + 1)]
    rows = 0
    for folder in generate_many(requests, work / "deliveries"):
        manifest = json.loads((folder / "delivery.json").read_text())
        rows += sum(f["rows"] for f in manifest["files"])
    return {"rows": rows, "deliveries": months, "processes": os.cpu_count()}


def _phase_load(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.load import load_delivery

    rows = 0
    for folder in sorted((work / "deliveries").iterdir()):
        rows += load_delivery(folder, work / "warehouse.duckdb").rows
    return {"rows": rows, "deliveries": months}


def _phase_build(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.dbt_runner import run_dbt

    run_dbt(["build", "--quiet"], work / "warehouse.duckdb")
    import duckdb

    con = duckdb.connect(str(work / "warehouse.duckdb"))  # same configuration as dbt's open connection
    facts = con.execute("select count(*) from marts.fct_passages_hourly").fetchone()[0]
    con.close()
    return {"rows": facts, "note": "rows = fct_passages_hourly rows"}


def _phase_metrics(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.metrics import MetricLayer
    from anpr_warehouse.standard_questions import month_filter

    started = time.perf_counter()
    layer = MetricLayer(work / "warehouse.duckdb")
    args = (
        ["logistics_passages", "zero_emission_share", "unique_vehicles"],
        ["zone", "metric_time__month"],
        month_filter(MUNICIPALITY, None),
    )
    layer.query(*args)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(5):
        t0 = time.perf_counter()
        layer.query(*args)
        warm.append(time.perf_counter() - t0)
    return {
        "cold_first_query_s": round(cold, 2),
        "warm_query_median_s": round(statistics.median(warm), 3),
        "warm_query_max_s": round(max(warm), 3),
        "rows": 0,
    }


def _phase_export(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.export import export_vendor

    entitlements = work / "vendors.yml"
    entitlements.write_text(f"vendors:\n  bench:\n    municipalities: [{MUNICIPALITY}]\n    formats: [parquet, csv, geojson]\n")
    packages = export_vendor(work / "warehouse.duckdb", "bench", work / "exports", progress=False, entitlements=entitlements)
    size = sum(p.stat().st_size for package in packages for p in package.rglob("*") if p.is_file())
    return {"packages": len(packages), "bytes": size, "rows": 0}


def _phase_report(work: Path, months: int, locations: int) -> dict:
    from anpr_warehouse.report import build_report

    build_report(work / "warehouse.duckdb", MUNICIPALITY, work / "report")
    return {"pages": len(list((work / "report").rglob("*.html"))), "rows": 0}


def _phase_sample_build(work: Path, months: int, locations: int) -> dict:
    """dbt build of the shipped sample (what `anpr run` builds): generate and load untimed, build timed."""
    from anpr_warehouse.dbt_runner import run_dbt
    from anpr_warehouse.generate import generate_many
    from anpr_warehouse.load import load_delivery
    from anpr_warehouse.sample import sample_requests

    warehouse = work / "sample.duckdb"
    for path in generate_many(sample_requests(), work / "sample"):
        load_delivery(path, warehouse)
    started = time.perf_counter()
    run_dbt(["build", "--quiet"], warehouse)
    return {"build_seconds": round(time.perf_counter() - started, 1), "rows": 0}


def _phase_audit(work: Path, months: int, locations: int) -> dict:
    """`anpr audit` of one month (March) with `locations` sites, as CBS would run it: generation untimed."""
    from anpr_warehouse.generate import GenerateRequest, generate_delivery

    folder = generate_delivery(GenerateRequest(MUNICIPALITY, 2025, 3, seed=1, locations=locations), work / "audit")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "audit", str(folder), "--min-cell-rule", "--format", "json"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 2):
        raise SystemExit(proc.stderr)
    report = json.loads(proc.stdout)[0]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "audit_seconds": round(seconds, 1),
        "cpu_seconds": round(children.ru_utime + children.ru_stime, 1),
        "rows": report["cells"],
        "confidential": report["cells_confidential"],
        "at_risk": report["cells_at_risk"],
        "exact": report["cells_exact"],
        "command": f"anpr audit <{locations}-location month> --min-cell-rule",
    }


PHASES = {
    "generate": _phase_generate,
    "load": _phase_load,
    "build": _phase_build,
    "metrics": _phase_metrics,
    "export": _phase_export,
    "report": _phase_report,
    "sample_build": _phase_sample_build,
    "audit": _phase_audit,
}


def run_phase(name: str, work: Path, months: int, locations: int) -> dict:
    """Runs one phase in a child process; returns its figures plus wall time and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--work", str(work), "--months", str(months), "--locations", str(locations)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["seconds"] = round(seconds, 1)
    if figures.get("rows"):
        figures["rows_per_second"] = round(figures["rows"] / seconds)
    return figures


# ---------------------------------------------------------------------------------------------
# National scale: N municipality-years, the monthly run (issue 11). Each phase in its own process.
# ---------------------------------------------------------------------------------------------

NATIONAL_SECTION = "## National scale (--municipalities N)"
NATIONAL_LOCATIONS = 40
NATIONAL_YEAR = 2025
NEXT_MONTH = (NATIONAL_YEAR + 1, 1)  # month 13: next year's January
CORRECTED_MONTH = 3  # the version-2 delivery corrects GM0344 2025-03
EXPORT_MONTH = "2025-03"
WARM_QUERIES = 25
# Generation is not what is measured here: linked protection is the fast, already-safe setting
# (the audited pass costs ~25 s per 40-location month); loads skip the disclosure audit (an LP per
# delivery, ~13 s a month) so the load figure is the loader's checks, as in the table.
GENERATE_PROTECTION = "linked"


def national_municipalities(n: int) -> list[str]:
    """N real municipality codes with zones in the seeds, GM0344 first (the order of ref_zones.csv)."""
    import csv

    with (ROOT / "seeds" / "reference" / "ref_zones.csv").open(newline="") as handle:
        codes = list(dict.fromkeys(row["municipality_code"] for row in csv.DictReader(handle)))
    codes = [MUNICIPALITY] + [c for c in codes if c != MUNICIPALITY]
    if n > len(codes):
        raise SystemExit(f"--municipalities {n}: the seeds have zones for only {len(codes)} municipalities")
    return codes[:n]


def _generate(requests: list, out: Path) -> list[Path]:
    """Generates the deliveries not yet in `out` (a resumed run keeps what it has); all paths, request order."""
    from anpr_warehouse.generate import generate_many

    def folder(r) -> Path:
        return out / f"CBS-ANPR-{r.municipality}-{r.year}MM{r.month:02d}-{r.version}"

    missing = [r for r in requests if not (folder(r) / "delivery.json").exists()]
    if missing:
        generate_many(missing, out)
    return [folder(r) for r in requests]


def _request(municipality: str, year: int, month: int, version: int = 1):
    from anpr_warehouse.generate import GenerateRequest

    return GenerateRequest(
        municipality, year, month, seed=42, locations=NATIONAL_LOCATIONS, version=version, protection=GENERATE_PROTECTION
    )


def _delivered_rows(folders: list[Path]) -> int:
    return sum(f["rows"] for folder in folders for f in json.loads((folder / "delivery.json").read_text())["files"])


def _anpr(*argv: str) -> float:
    """`anpr ...` in this process (the real CLI: its checks, messages and exit code); returns seconds."""
    from anpr_warehouse.cli import main as anpr_main

    started = time.perf_counter()
    code = anpr_main(list(argv))
    if code != 0:
        raise SystemExit(f"anpr {' '.join(argv[:2])} exited {code}")
    return time.perf_counter() - started


def _timed_build(work: Path, full: bool) -> tuple[float, dict]:
    """`anpr build` timed, with where its seconds went (anpr_warehouse/step_times.py, when this version has it)."""
    try:
        from anpr_warehouse import step_times
    except ImportError:
        step_times = None
    if step_times:
        step_times.reset()
    seconds = _anpr(*_build_argv(work, full=full))
    return seconds, ({"steps": step_times.steps()} if step_times else {})


def _build_argv(work: Path, full: bool) -> list[str]:
    """`anpr build`, with --full-refresh for a full build when this version of the CLI has the flag."""
    from anpr_warehouse.cli import build_parser

    has_flag = _subcommand_has(build_parser(), "build", "--full-refresh")
    return ["build", "--warehouse", str(work / "warehouse.duckdb")] + (["--full-refresh"] if full and has_flag else [])


def _subcommand_has(parser: argparse.ArgumentParser, command: str, flag: str) -> bool:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return flag in action.choices[command]._option_string_actions
    return False


def _dbt_figures() -> dict:
    """What the last dbt invocation of the build ran (target/run_results.json): nodes and dbt's own seconds."""
    results = ROOT / "target" / "run_results.json"
    if not results.exists():
        return {}
    data = json.loads(results.read_text())
    kinds: dict[str, int] = {}
    for r in data.get("results", []):
        kind = r["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"dbt_seconds": round(data.get("elapsed_time", 0), 1), "dbt_nodes": kinds}


def _fact_rows(work: Path) -> int:
    import duckdb

    con = duckdb.connect(str(work / "warehouse.duckdb"))  # the configuration of dbt's connection in this process
    try:
        return con.execute("select count(*) from marts.fct_passages_hourly").fetchone()[0]
    finally:
        con.close()


def _n_generate(work: Path, n: int) -> dict:
    requests = [_request(m, NATIONAL_YEAR, month) for m in national_municipalities(n) for month in range(1, 13)]
    folders = _generate(requests, work / "deliveries")
    return {"rows": _delivered_rows(folders), "deliveries": len(folders), "protection": GENERATE_PROTECTION}


def _n_load(work: Path, n: int) -> dict:
    folders = sorted((work / "deliveries").iterdir())
    seconds = _anpr("load", *map(str, folders), "--no-audit", "--warehouse", str(work / "warehouse.duckdb"))
    return {
        "rows": _delivered_rows(folders),
        "deliveries": len(folders),
        "timed_s": round(seconds, 1),
        "command": "anpr load --no-audit",
    }


def _n_floor(work: Path, n: int) -> dict:
    """DuckDB's own speed: read every delivery's T01 and T02 CSV and write both facts, no checks.

    One create-table-as-select per fact (SQL has no single statement that creates two tables), both
    in one call and one transaction: municipality from the delivery folder, zone from Locations.csv.
    """
    import duckdb

    deliveries = work / "deliveries"
    target = work / "floor.duckdb"
    target.unlink(missing_ok=True)
    locations = f"""(
        select distinct Identifier as location_code, ZoneIdentifier as zone_code
        from read_csv('{deliveries}/*/Locations.csv', header = true, all_varchar = true)
    )"""

    def fact(name: str, table: str, columns: str, hour: str) -> str:
        return f"""
        create table {name} as
        with cells as (
            select * from read_csv('{deliveries}/*/{table}_Observations.csv', header = true, filename = true,
                                   all_varchar = true)
        ),
        locations as {locations}
        select
            regexp_extract(cells.filename, 'CBS-ANPR-(GM[0-9]{{4}})-', 1) as municipality_code,
            locations.zone_code,
            cells.Location as location_code,
            cast(cells.Date as date) as passage_date,
            {hour}
            {columns}
            cast(cells.Value as bigint) as passages,
            cells.ValueAttribute as cell_status,
        from cells
        left join locations on cells.Location = locations.location_code
        where cells.Measure = 'M_PASSAGES';
        """

    sql = (
        "begin;"
        + fact(
            "fct_passages_hourly",
            "T01",
            "cells.VehicleCategory as vehicle_category_code,",
            "cast(substr(cells.Hour, 2) as integer) as hour_of_day,",
        )
        + fact(
            "fct_passages_by_fuel", "T02", "cells.VehicleCategory as vehicle_category_code, cells.FuelType as fuel_type_code,", ""
        )
        + "commit;"
    )
    con = duckdb.connect(str(target))
    started = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - started
    hourly, by_fuel = (
        con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("fct_passages_hourly", "fct_passages_by_fuel")
    )
    unzoned = con.execute("select count(*) from fct_passages_hourly where zone_code is null").fetchone()[0]
    con.close()
    target.unlink()
    return {
        "rows": hourly + by_fuel,
        "statement_s": round(seconds, 1),
        "facts": f"hourly {hourly}, by fuel {by_fuel}",
        "rows_without_zone": unzoned,
    }


def _n_build(work: Path, n: int) -> dict:
    argv = _build_argv(work, full=True)
    seconds, steps = _timed_build(work, full=True)
    return {
        "rows": _fact_rows(work),
        "timed_s": round(seconds, 1),
        "command": "anpr " + " ".join(a for a in argv if "/" not in a and a != "--warehouse"),
        **_dbt_figures(),
        **steps,
    }


def _load_and_build(work: Path, folders: list[Path], generate_s: float) -> dict:
    """One monthly unit: load the new deliveries, `anpr build` (incremental where the build is)."""
    load_s = _anpr("load", *map(str, folders), "--no-audit", "--warehouse", str(work / "warehouse.duckdb"))
    build_s, steps = _timed_build(work, full=False)
    return {
        "rows": _delivered_rows(folders),
        "deliveries": len(folders),
        "generate_s": round(generate_s, 1),
        "load_s": round(load_s, 1),
        "build_s": round(build_s, 1),
        "load_build_s": round(load_s + build_s, 1),
        **_dbt_figures(),
        **steps,
    }


def _next_month(work: Path, municipalities: list[str]) -> dict:
    started = time.perf_counter()
    folders = _generate([_request(m, *NEXT_MONTH) for m in municipalities], work / "next")
    return _load_and_build(work, folders, time.perf_counter() - started)


def _n_month_one(work: Path, n: int) -> dict:
    """Month 13 of one municipality (GM0344): the realistic monthly unit."""
    return {**_next_month(work, [MUNICIPALITY]), "unit": f"{MUNICIPALITY} {NEXT_MONTH[0]}-{NEXT_MONTH[1]:02d}"}


def _n_month_all(work: Path, n: int) -> dict:
    """Month 13 of the other N-1 municipalities in one load and one build: after it every municipality has it."""
    others = national_municipalities(n)[1:]
    if not others:
        return {"rows": 0, "skipped": "N=1: no other municipality"}
    return {**_next_month(work, others), "unit": f"{len(others)} municipalities {NEXT_MONTH[0]}-{NEXT_MONTH[1]:02d}"}


def _n_correction(work: Path, n: int) -> dict:
    started = time.perf_counter()
    folders = _generate([_request(MUNICIPALITY, NATIONAL_YEAR, CORRECTED_MONTH, version=2)], work / "corrections")
    figures = _load_and_build(work, folders, time.perf_counter() - started)
    return {**figures, "unit": f"{MUNICIPALITY} {NATIONAL_YEAR}-{CORRECTED_MONTH:02d} version 2"}


def _n_export(work: Path, n: int) -> dict:
    entitlements = work / "vendors.yml"
    entitlements.write_text(f"vendors:\n  bench:\n    municipalities: [{MUNICIPALITY}]\n    formats: [parquet, csv, geojson]\n")
    out = work / "exports"
    shutil.rmtree(out, ignore_errors=True)
    argv = ["export", "--vendor", "bench", "--municipality", MUNICIPALITY, "--month", EXPORT_MONTH]
    seconds = _anpr(*argv, "--vendors", str(entitlements), "--out", str(out), "--warehouse", str(work / "warehouse.duckdb"))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"rows": 0, "bytes": size, "timed_s": round(seconds, 1), "command": "anpr " + " ".join(argv)}


def _n_report(work: Path, n: int) -> dict:
    out = work / "report"
    shutil.rmtree(out, ignore_errors=True)
    seconds = _anpr("report", "--municipality", MUNICIPALITY, "--out", str(out), "--warehouse", str(work / "warehouse.duckdb"))
    return {
        "rows": 0,
        "pages": len(list(out.rglob("*.html"))),
        "timed_s": round(seconds, 1),
        "command": f"anpr report --municipality {MUNICIPALITY}",
    }


def _n_metrics(work: Path, n: int) -> dict:
    """Warm metric queries at month x municipality grain: the national table, and one municipality-month."""
    from anpr_warehouse.metrics import MetricLayer
    from anpr_warehouse.standard_questions import month_filter

    started = time.perf_counter()
    layer = MetricLayer(work / "warehouse.duckdb")
    queries = {
        "national": (["logistics_passages"], ["metric_time__month", "municipality"], None),
        "one_municipality_month": (
            ["logistics_passages"],
            ["metric_time__month", "municipality"],
            month_filter(MUNICIPALITY, f"{EXPORT_MONTH}-01"),
        ),
    }
    layer.query(*queries["national"])
    figures: dict = {"rows": 0, "cold_first_query_s": round(time.perf_counter() - started, 2), "queries": WARM_QUERIES}
    for name, args in queries.items():
        layer.query(*args)  # warm this one too
        warm = []
        for _ in range(WARM_QUERIES):
            t0 = time.perf_counter()
            result = layer.query(*args)
            warm.append(time.perf_counter() - t0)
        figures[f"{name}_median_ms"] = round(1000 * statistics.median(warm), 1)
        figures[f"{name}_max_ms"] = round(1000 * max(warm), 1)
        figures[f"{name}_result_rows"] = len(result.rows) if hasattr(result, "rows") else None
    figures["metric"] = "logistics_passages by metric_time__month, municipality"
    return figures


NATIONAL_PHASES = {
    "generate": _n_generate,
    "load": _n_load,
    "floor": _n_floor,
    "build": _n_build,
    "month_one": _n_month_one,
    "month_all": _n_month_all,
    "correction": _n_correction,
    "export": _n_export,
    "report": _n_report,
    "metrics": _n_metrics,
}


def run_national_phase(name: str, work: Path, n: int) -> dict:
    """One national phase in a child process: its figures, wall seconds, peak RSS and the load average before it."""
    load_average = round(os.getloadavg()[0], 1)
    print(f"benchmark N={n}: {name} ... (load average {load_average})", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--national-phase", name, "--work", str(work), "--municipalities", str(n)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "ANPR_LOAD_AUDIT": "0"},
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["seconds"] = round(figures.get("load_build_s", seconds), 1)
    figures["process_s"] = round(seconds, 1)
    figures["load_average"] = load_average
    if figures.get("rows"):
        figures["rows_per_second"] = round(figures["rows"] / figures["seconds"])
    print(f"benchmark N={n}: {name} {figures['seconds']} s, {figures['peak_rss_mb']} MB peak", file=sys.stderr, flush=True)
    return figures


def machine_facts() -> dict:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpus": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
    }


def run_national(n: int, phases: list[str], work: Path | None, reuse: bool, out: Path, note: str = "") -> None:
    """Runs the phases for N municipalities, merges them into results.json and rewrites the national section."""
    keep = work is not None
    work = work or Path(tempfile.mkdtemp(prefix=f"anpr-bench-n{n}-"))
    work.mkdir(parents=True, exist_ok=True)
    progress = work / "figures.json"  # phases done in this folder, for a resumed run
    done = json.loads(progress.read_text()) if reuse and progress.exists() else {}
    run = {
        "municipalities": national_municipalities(n),
        "machine": machine_facts(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "code": _git_describe(),
        "note": note,
        "phases": {},
    }
    # a phase is reused only if it finished here (figures.json); an interrupted one runs again and
    # skips what is there (generation keeps written deliveries, a second load of a delivery is a no-op)
    have = {"generate": (work / "deliveries").is_dir(), "load": (work / "warehouse.duckdb").exists()}
    have = {name: there and name in done for name, there in have.items()}
    try:
        for name in phases:
            if reuse and have.get(name):
                print(f"benchmark N={n}: {name} reused from {work}", file=sys.stderr, flush=True)
                if name in done:
                    run["phases"][name] = {**done[name], "reused": True}
                continue
            run["phases"][name] = done[name] = run_national_phase(name, work, n)
            progress.write_text(json.dumps(done, indent=1) + "\n")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    stored_path = out / "results.json"
    stored = json.loads(stored_path.read_text()) if stored_path.exists() else {}
    national = stored.setdefault("national", {})
    previous = national.get(str(n), {})
    if set(phases) != set(NATIONAL_PHASES) and previous:  # a subset updates its rows of the stored run
        rerun = f"{', '.join(run['phases'])} re-measured {run['started']} ({run['code']})"
        run = {**previous, "phases": {**previous.get("phases", {}), **run["phases"]}, "note": note or previous.get("note", "")}
        run["reruns"] = previous.get("reruns", []) + [rerun]
    national[str(n)] = run
    out.mkdir(exist_ok=True)
    stored_path.write_text(json.dumps(stored, indent=2) + "\n")
    results_md = out / "results.md"
    text = results_md.read_text() if results_md.exists() else "# Benchmark results\n"
    section = render_national(national)
    results_md.write_text(replace_section(text, NATIONAL_SECTION, section))
    print(section)


def _git_describe() -> str:
    """The commit measured, and whether the worktree had changes on top of it."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "anpr_warehouse", "models", "macros"], capture_output=True, text=True
    )
    return f"commit {head.stdout.strip()}" + (" with local changes" if dirty.stdout.strip() else "")


def replace_section(text: str, heading: str, section: str) -> str:
    """`text` with the section under `heading` (up to the next `## `) replaced by `section`, or it appended."""
    start = text.find(heading + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(heading))
    return text[:start] + section + (text[end + 1 :] if end >= 0 else "")


def _seconds(figures: dict) -> float | None:
    """A phase's seconds; None where it did not run or had nothing to do (month_all at N=1)."""
    return None if figures.get("skipped") else figures.get("seconds")


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else ""


def render_national(national: dict) -> str:
    """The national section: one table per N, the targets' ratios, and growth against N=1."""
    lines = [
        NATIONAL_SECTION,
        "",
        f"N municipality-years (12 months x {NATIONAL_LOCATIONS} locations each, generated with `--protection "
        f"{GENERATE_PROTECTION}`), loaded with `anpr load --no-audit`, then the monthly run. Reproduce:",
        "`.venv/bin/python scripts/benchmark.py --municipalities N --work /work/bench-work/nN` (add `--reuse` to resume;",
        "`--phases ...` for a subset). Each phase runs in its own process; peak RSS is that process's or its largest child's.",
        "The machine is shared (2 cores, other engineers' jobs): the load average before each phase is in its row. At a",
        "load average of 10-20 a phase takes several times its idle-machine time, and not every phase of a run meets the",
        "same load: read ratios and growth as rough until they are re-measured on a quiet machine.",
        "",
        "Phases: **floor** = DuckDB alone reading every T01 and T02 CSV and writing the two facts with municipality and",
        "zone (two `create table as select` in one transaction, no checks; rows_without_zone: the 6 of 40 cameras outside"
        " any zone); **build** = full `anpr build` (with",
        "`--full-refresh` where the CLI has it; includes publishing the snapshot); **month_one** = generate, load and build",
        f"month 13 ({NEXT_MONTH[0]}-{NEXT_MONTH[1]:02d}) of {MUNICIPALITY} alone; **month_all** = the same month of the other N-1",
        f"municipalities in one load and one build; **correction** = a version 2 of {MUNICIPALITY} {NATIONAL_YEAR}-{CORRECTED_MONTH:02d}, load and build.",
        "For these three, seconds = load + build (generation listed apart). **export** = one municipality, one month;",
        f"**metrics** = median of {WARM_QUERIES} warm queries, logistics passages by month and municipality.",
        "",
    ]
    for n in sorted(national, key=int):
        run = national[n]
        p = run["phases"]
        m = run["machine"]
        lines += [
            f"### N = {n} ({', '.join(run['municipalities'])})",
            "",
            f"Run {run['started']} on {m['cpus']} CPUs, {m['ram_gib']} GiB RAM, Python {m['python']}; load average at start "
            f"{' / '.join(map(str, m['load_average_at_start']))}; code: {run['code']}."
            + (f" {run['note']}" if run.get("note") else "")
            + "".join(f" {r}." for r in run.get("reruns", [])),
            "",
            "| phase | seconds | rows | rows/s | peak RSS (MB) | load avg | other |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, f in p.items():
            other = {k: v for k, v in f.items() if k not in ("seconds", "rows", "rows_per_second", "peak_rss_mb", "load_average")}
            lines.append(
                f"| {name} | {_seconds(f) or ''} | {f.get('rows') or ''} | {f.get('rows_per_second', '')} | "
                f"{f.get('peak_rss_mb', '')} | {f.get('load_average', '')} | "
                + ", ".join(f"{k}: {v}" for k, v in other.items())
                + " |"
            )
        secs = {name: _seconds(f) for name, f in p.items()}
        load_build = (secs.get("load") or 0) + (secs.get("build") or 0)
        metrics = p.get("metrics", {})
        lines += [
            "",
            "| target | measured |",
            "|---|---|",
            f"| (load + full build) / floor (N=4: <= 3) | {_ratio(load_build, secs.get('floor'))} |",
            f"| month_one (one municipality's new month) / full build (N=4: <= 0.10, N=16: <= 0.05) | {_ratio(secs.get('month_one'), secs.get('build'))} |",
            f"| month_all (every municipality's new month) / full build | {_ratio(secs.get('month_all'), secs.get('build'))} |",
            f"| correction / full build | {_ratio(secs.get('correction'), secs.get('build'))} |",
            f"| largest peak RSS, MB (N=16: <= 4096) | {max((f.get('peak_rss_mb') or 0 for f in p.values()), default='')} |",
            f"| warm metric query, national month x municipality, median ms (N=4: <= 100) | {metrics.get('national_median_ms', '')} |",
            f"| warm metric query, one municipality-month, median ms | {metrics.get('one_municipality_month_median_ms', '')} |",
            f"| report of one municipality, s (<= 5) | {secs.get('report', '')} |",
            f"| export of one month for one municipality, s (<= 3) | {secs.get('export', '')} |",
            "",
        ]
    ns = sorted(national, key=int)
    if "16" not in national:
        lines += [
            "### N = 16",
            "",
            "Not measured yet: `.venv/bin/python scripts/benchmark.py --municipalities 16 --work DIR`.",
            "",
        ]
    if len(ns) > 1:
        base = national[ns[0]]["phases"]
        lines += [
            f"### Growth (seconds per phase; x = ratio to N={ns[0]})",
            "",
            "| phase | " + " | ".join(f"N={n}" for n in ns) + " | " + " | ".join(f"x N={n}" for n in ns[1:]) + " |",
            "|---|" + "---|" * (2 * len(ns) - 1),
        ]
        for name in NATIONAL_PHASES:
            row = [_seconds(national[n]["phases"].get(name, {})) for n in ns]
            if not any(row):
                continue
            first = _seconds(base.get(name, {}))
            lines.append(
                f"| {name} | "
                + " | ".join("" if s is None else str(s) for s in row)
                + " | "
                + " | ".join(_ratio(s, first) for s in row[1:])
                + " |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=PHASES)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    parser.add_argument("--rerun", choices=PHASES, help="re-measure one phase and update its row in the stored results")
    parser.add_argument("--municipalities", type=int, nargs="?", const=4, help="national scale: N municipality-years (default 4)")
    parser.add_argument("--phases", nargs="+", choices=NATIONAL_PHASES, help="national phases to run (default: all, in order)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --work: skip generate (load) when DIR holds the deliveries (the warehouse)"
    )
    parser.add_argument("--note", default="", help="national scale: a sentence stored with the run (what code it measured)")
    parser.add_argument("--national-phase", choices=NATIONAL_PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.national_phase:
        figures = NATIONAL_PHASES[args.national_phase](args.work, args.municipalities)
        peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        print(json.dumps({**figures, "peak_rss_mb": round(peak_kb / 1024)}))
        return
    if args.municipalities:
        phases = [name for name in NATIONAL_PHASES if not args.phases or name in args.phases]
        run_national(args.municipalities, phases, args.work, args.reuse, args.out, args.note)
        return
    if args.rerun:
        _rerun(args.rerun, args.out, args.months, args.locations)
        return
    if args.phase:
        figures = PHASES[args.phase](args.work, args.months, args.locations)
        # the phase's own process, or its largest worker process (generation runs one per core)
        peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        figures["peak_rss_mb"] = round(peak_kb / 1024)
        print(json.dumps(figures))
        return
    months, locations = (3, 12) if args.quick else (args.months, args.locations)
    work = Path(tempfile.mkdtemp(prefix="anpr-bench-"))
    results = {
        "scenario": f"{MUNICIPALITY}, {months} months x {locations} locations",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "phases": {},
    }
    try:
        for name in PHASES:
            print(f"benchmark: {name} ...", file=sys.stderr, flush=True)
            results["phases"][name] = run_phase(name, work, months, locations)
            print(f"  {json.dumps(results['phases'][name])}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.quick:
        args.out.mkdir(exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        write_main_section(args.out / "results.md", results)
    print(render(results))


def _rerun(name: str, out: Path, months: int, locations: int) -> None:
    """One phase again (in a fresh work folder), merged into results.json/results.md; the other rows stay."""
    stored = out / "results.json"
    results = json.loads(stored.read_text())
    work = Path(tempfile.mkdtemp(prefix="anpr-bench-"))
    try:
        if name not in ("generate", "audit", "sample_build"):
            run_phase("generate", work, months, locations)
            if name != "load":
                run_phase("load", work, months, locations)
        results["phases"][name] = run_phase(name, work, months, locations)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stored.write_text(json.dumps(results, indent=2) + "\n")
    write_main_section(out / "results.md", results)
    print(render(results))


def write_main_section(results_md: Path, results: dict) -> None:
    """Rewrites the top section (up to the first `## `); the sections other scripts write stay."""
    previous = results_md.read_text() if results_md.exists() else ""
    kept = previous[previous.find("\n## ") + 1 :] if "\n## " in previous else ""
    results_md.write_text(render(results) + ("\n" + kept if kept else ""))


def render(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Scenario: {results['scenario']}. Machine: {results['machine']['cpus']} CPUs, "
        f"Python {results['machine']['python']}, {results['machine']['system']}.",
        "",
        "Reproduce: `.venv/bin/python scripts/benchmark.py` (each phase in its own process; peak RSS is that process's).",
        "",
        "| phase | seconds | rows | rows/s | peak RSS (MB) | other |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in results["phases"].items():
        other = {k: v for k, v in f.items() if k not in ("seconds", "rows", "rows_per_second", "peak_rss_mb")}
        lines.append(
            f"| {name} | {f['seconds']} | {f.get('rows') or ''} | {f.get('rows_per_second', '')} | {f['peak_rss_mb']} | "
            + ", ".join(f"{k}: {v}" for k, v in other.items())
            + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
