"""Benchmark of the vendor API: start-up time, requests per second and p50/p95 latency.

Builds a municipality-year (GM0344, 12 months x 40 locations), starts `anpr serve`
in its own process and measures, with 1 and 16 concurrent clients, a cached
standard question and an ad-hoc metric query. The figures replace the
"Vendor API" section of benchmarks/results.md.

    .venv/bin/python scripts/bench_service.py            # one municipality-year
    .venv/bin/python scripts/bench_service.py --quick    # 3 months x 12 locations (a smoke run)
    .venv/bin/python scripts/bench_service.py --warehouse PATH   # reuse a built warehouse with GM0344
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from results_md import write_section  # scripts/results_md.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLI = [sys.executable, "-m", "anpr_warehouse.cli"]
MUNICIPALITY = "GM0344"
SECTION = "## Vendor API (`scripts/bench_service.py`)"


def build(work: Path, months: int, locations: int) -> Path:
    from anpr_warehouse.generate import GenerateRequest, generate_many
    from anpr_warehouse.load import load_delivery

    warehouse = work / "wh" / "anpr.duckdb"
    warehouse.parent.mkdir(parents=True)
    requests = [GenerateRequest(MUNICIPALITY, 2025, m, seed=42, locations=locations) for m in range(1, months + 1)]
    for folder in generate_many(requests, work / "deliveries"):
        load_delivery(folder, warehouse)
    subprocess.run([*CLI, "build", "--warehouse", str(warehouse)], check=True, capture_output=True, timeout=3600)
    return warehouse


def start(warehouse: Path, vendors: Path, port: int) -> tuple[subprocess.Popen, float, float, str]:
    key = (
        subprocess.run(
            [*CLI, "keys", "create", "--vendor", "bench", "--warehouse", str(warehouse), "--vendors", str(vendors)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--port",
            str(port),
            "--warehouse",
            str(warehouse),
            "--vendors",
            str(vendors),
            "--rate",
            "1000000",
            "--burst",
            "1000000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/v1/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    ready = time.perf_counter() - started
    httpx.get(f"{base}/v1/municipalities", headers={"Authorization": f"Bearer {key}"}, timeout=120).raise_for_status()
    first = time.perf_counter() - started
    return proc, ready, first, key


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc): what a request costs, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(base: str, key: str, clients: int, per_client: int, request, pid: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    errors = []

    def worker() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = request(http)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1800)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "cpu_ms": 1000 * cpu / max(1, len(latencies)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--requests", type=int, default=320, help="requests per cached scenario (split over the clients)")
    parser.add_argument("--adhoc-requests", type=int, default=48, help="requests per uncached ad-hoc scenario")
    parser.add_argument(
        "--reuse-snapshot",
        action="store_true",
        help="with --warehouse: serve its current snapshot as it is (no new one from the project's target/ folder)",
    )
    parser.add_argument(
        "--print-only", action="store_true", help="print the section instead of writing benchmarks/results.md (a trial run)"
    )
    args = parser.parse_args()
    months, locations = (3, 12) if args.quick else (12, 40)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        warehouse = args.warehouse.resolve() if args.warehouse else build(work, months, locations)
        build_s = time.perf_counter() - t0
        from anpr_warehouse.snapshots import publish_snapshot

        t0 = time.perf_counter()
        if not args.reuse_snapshot:
            publish_snapshot(warehouse)  # what `anpr build` adds at its end
        publish_s = time.perf_counter() - t0
        vendors = work / "vendors.yml"
        vendors.write_text(f"vendors:\n  bench:\n    municipalities: [{MUNICIPALITY}]\n", encoding="utf-8")
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc, ready, first, key = start(warehouse, vendors, port)
        base = f"http://127.0.0.1:{port}"
        try:
            month = httpx.get(f"{base}/v1/municipalities", headers={"Authorization": f"Bearer {key}"}).json()[0]["months"][-1]

            def question(http):
                return http.get("/v1/questions/overview_month", params={"municipality": MUNICIPALITY, "month": month})

            body = {
                "metrics": ["logistics_passages", "zero_emission_share"],
                "group_by": ["metric_time__month", "zone"],
                "filters": {"municipality": [MUNICIPALITY]},
            }

            def repeated(http):
                return http.post("/v1/query", json=body)

            distinct = iter(
                [
                    {**body, "month_from": f"2025-{a:02d}", "month_to": f"2025-{b:02d}", "group_by": group_by}
                    for group_by in (["metric_time__month", "zone"], ["metric_time__month", "location"], ["metric_time__month"])
                    for a in range(1, 13)
                    for b in range(a, 13)
                ]
            )
            unsliced = iter(
                [
                    {**body, "month_from": f"2025-{a:02d}", "month_to": f"2025-{b:02d}", "group_by": group_by}
                    for group_by in (["zone"], ["location"], ["municipality"])
                    for a in range(1, 13)
                    for b in range(a, 13)
                ]
            )
            lock = threading.Lock()

            def adhoc(http):
                with lock:
                    query = next(distinct)
                return http.post("/v1/query", json=query)

            def adhoc_unsliced(http):
                with lock:
                    query = next(unsliced)
                return http.post("/v1/query", json=query)

            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
                question(http)  # fill the caches
                repeated(http)
            results = []
            scenarios = (
                ("cached standard question (overview_month, one month)", question, args.requests),
                ("ad-hoc query, repeated (answered from the snapshot's memory)", repeated, args.requests),
                (
                    "ad-hoc query, every request a different month range, by month (a slice of the shape's answer "
                    "for every month, computed once per snapshot)",
                    adhoc,
                    args.adhoc_requests,
                ),
                (
                    "ad-hoc query, every request a different month range, not by month (plan per shape reused, "
                    "values bound: DuckDB on the rollups)",
                    adhoc_unsliced,
                    args.adhoc_requests,
                ),
            )
            for name, request, count in scenarios:
                for clients in (1, 16):
                    row = measure(base, key, clients, max(1, count // clients), request, proc.pid)
                    results.append((name, row))
                    print(name, row, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if args.warehouse:  # describe what the reused warehouse holds
        import duckdb

        from anpr_warehouse.snapshots import current_snapshot

        con = duckdb.connect(str(current_snapshot(args.warehouse.resolve()).database), read_only=True)
        months, locations = con.execute(
            "select count(distinct month_start), count(distinct location_code) from marts.fct_passages_hourly where municipality_code = ?",
            [MUNICIPALITY],
        ).fetchone()
        con.close()
    scenario = f"{MUNICIPALITY}, {months} months x {locations} locations" + (" (a reused warehouse)" if args.warehouse else "")
    lines = [
        SECTION,
        "",
        f"Scenario: {scenario}; service and load generator (httpx threads) on the same machine: "
        f"{platform.machine()}, 2 CPUs shared, Python {platform.python_version()}.",
        f"Start-up: `anpr serve` answers its spec after {ready:.1f} s and a first authorised request after {first:.1f} s "
        f"(includes planning the metric layer){'' if args.warehouse else f'; building the warehouse took {build_s:.0f} s'}.",
        f"Publishing a snapshot (the step `anpr build` ends with): {publish_s:.1f} s."
        if not args.reuse_snapshot
        else "The warehouse's current snapshot was served as published by its build.",
        "",
        "| request | clients | requests | errors | req/s | p50 ms | p95 ms | service CPU ms/request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {r['clients']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
        f"| {r['cpu_ms']:.1f} |"
        for name, r in results
    ]
    lines.append("")
    lines.insert(4, f"Load average (1, 5, 15 min) when the measurements ended: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    if args.print_only:
        print("\n".join(lines))
        return 0
    write_section(SECTION, "\n".join(lines).rstrip() + "\n")  # in place: what follows the section stays
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
