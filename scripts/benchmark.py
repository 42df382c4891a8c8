"""Benchmark: times and peak memory of generate, load, build, export, metric queries and report.

Each phase runs in its own process so its peak memory (max RSS) is its own.
Results go to benchmarks/results.json and benchmarks/results.md; rerun with

    .venv/bin/python scripts/benchmark.py            # one municipality-year, 40 locations
    .venv/bin/python scripts/benchmark.py --quick    # 3 months, 12 locations (a smoke run)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=PHASES)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    parser.add_argument("--rerun", choices=PHASES, help="re-measure one phase and update its row in the stored results")
    args = parser.parse_args()
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
        previous = (args.out / "results.md").read_text() if (args.out / "results.md").exists() else ""
        kept = previous[previous.find("\n## ") + 1 :] if "\n## " in previous else ""  # sections other scripts write
        (args.out / "results.md").write_text(render(results) + ("\n" + kept if kept else ""))
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
    (out / "results.md").write_text(render(results))
    print(render(results))


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
