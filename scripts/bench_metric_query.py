"""Benchmark of a warm metric query: logistics passages by month and municipality (issue 11's "warm metric query").

On a built warehouse (default: builds GM0344, 12 months x 40 locations, like
scripts/bench_service.py), times the query through the metric layer on the published
snapshot after two warm-up runs, the way the API and a long-lived process ask it:

- from the daily fact with the plan cached (what the layer does now);
- from the hourly fact with the plan cached (`MetricLayer(day_grain=False)`: the old SQL);
- the same shape with another month each time (plan reused, values bound as DuckDB parameters);
- on the warehouse file through dbt's adapter (what `anpr metrics query`, exports and the report use).

The figures replace the section "Warm metric query" of benchmarks/results.md.

    .venv/bin/python scripts/bench_metric_query.py --warehouse PATH   # a built warehouse holding GM0344
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from results_md import write_section  # scripts/results_md.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECTION = "## Warm metric query (`scripts/bench_metric_query.py`)"
MUNICIPALITY = "GM0344"
METRICS, GROUP_BY = ["logistics_passages"], ["metric_time__month", "municipality"]
BEFORE = (
    "Before (commit 75a66cb: MetricFlow planned every query, which read the hourly fact), the same query on the same "
    "snapshot took a median of 130 ms and 199 ms in two runs of 20 (load average 13-15 from other jobs); issue 11 "
    "measured 441 ms at N = 4. Target (issue 11): <= 100 ms median at N = 4."
)


def timed(ask, repeat: int) -> dict:
    """Median and p95 in milliseconds of `repeat` calls after two warm-up calls."""
    ask(0)
    ask(1)
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        ask(i)
        times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "n": repeat}


def scenario(warehouse: Path) -> tuple[str, list[str]]:
    import duckdb

    from anpr_warehouse.snapshots import current_snapshot

    con = duckdb.connect(str(current_snapshot(warehouse).database), read_only=True)
    months = [
        m.isoformat()[:10]
        for (m,) in con.execute("select distinct month_start from marts.fct_passages_daily order by 1").fetchall()
    ]
    hourly, daily, locations, municipalities = con.execute(
        """select (select count(*) from marts.fct_passages_hourly), (select count(*) from marts.fct_passages_daily),
                  (select count(distinct location_code) from marts.fct_passages_daily),
                  (select count(distinct municipality_code) from marts.fct_passages_daily)"""
    ).fetchone()
    con.close()
    text = (
        f"{municipalities} municipality, {len(months)} months x {locations} locations: "
        f"{hourly:,} hourly cells, {daily:,} daily rows"
    )
    return text, months


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", type=Path, help="a built warehouse (default: build GM0344, 12 months x 40 locations)")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from anpr_warehouse.metrics import MetricLayer
    from anpr_warehouse.snapshots import current_snapshot, publish_snapshot

    with tempfile.TemporaryDirectory(prefix="bench-metric-") as tmp:
        if args.warehouse:
            warehouse = args.warehouse.resolve()
        else:
            from bench_service import build  # same municipality-year as the API benchmark

            warehouse = build(Path(tmp), 12, 40)
        try:
            snapshot = current_snapshot(warehouse)
        except Exception:  # a warehouse built before snapshots: publish one, as `anpr build` does
            publish_snapshot(warehouse)
            snapshot = current_snapshot(warehouse)
        text, months = scenario(warehouse)
        daily, hourly = MetricLayer.on_snapshot(snapshot), MetricLayer.on_snapshot(snapshot, day_grain=False)

        def month_where(i: int) -> list[str]:
            return [
                f"{{{{ Entity('municipality') }}}} = '{MUNICIPALITY}'",
                f"{{{{ TimeDimension('metric_time', 'month') }}}} = '{months[i % len(months)]}'",
            ]

        assert daily.query(METRICS, GROUP_BY).render("json") == hourly.query(METRICS, GROUP_BY).render("json")
        rows = [
            ("snapshot, daily fact, plan cached", timed(lambda i: daily.query(METRICS, GROUP_BY), args.repeat)),
            ("snapshot, hourly fact, plan cached (the old SQL)", timed(lambda i: hourly.query(METRICS, GROUP_BY), args.repeat)),
            (
                "snapshot, daily fact, another month each time (plan reused, month bound as a parameter)",
                timed(lambda i: daily.query(METRICS, GROUP_BY, month_where(i)), args.repeat),
            ),
        ]
        on_file = MetricLayer(warehouse)
        rows.append(
            ("warehouse file via dbt's adapter, daily fact", timed(lambda i: on_file.query(METRICS, GROUP_BY), args.repeat))
        )
    lines = [
        SECTION,
        "",
        f"Query: `logistics_passages` grouped by `metric_time__month` and `municipality` (with its confidential-cell "
        f"companion), through `MetricLayer.query`. Data: {text}. Machine: {platform.machine()}, 2 CPUs shared, "
        f"Python {platform.python_version()}. Reproduce: `.venv/bin/python scripts/bench_metric_query.py [--warehouse PATH]`.",
        "",
        "| path | runs | median ms | p95 ms |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {r['n']} | {r['median']:.1f} | {r['p95']:.1f} |" for name, r in rows]
    lines += ["", BEFORE, ""]
    write_section(SECTION, "\n".join(lines).rstrip() + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
