"""Where a full build's model seconds go: computing the two big facts' rows and md5 ids versus storing them.

Why: at N = 4 the two facts fct_passages_hourly and fct_passages_by_fuel are ~85 % of the full build's
model seconds, and the obvious suspect is the md5 row id. This script separates, on an already built
warehouse (opened read-only, nothing in it changes), the CPU seconds of

- `rows`: reading the stored fact and hashing every row (the cost of reading it back, the baseline);
- `id`: computing the id again from its four key columns, the way macros/surrogate_key.sql does;
- `store all`: writing the whole fact into a fresh DuckDB file (what the model's insert does after computing);
- `store no id` and `store id`: the same write without the id column, and of the id column alone.

It checks that the recomputed id equals the stored one on every row (a changed surrogate_key would show).
CPU seconds (user + system of this process, DuckDB's threads included) are steadier than wall seconds on a
shared machine; run it twice and compare.

    .venv/bin/python scripts/fact_write_costs.py WAREHOUSE [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

# fact -> (its id column, the key columns of its id, in the order surrogate_key gets them)
FACTS = {
    "fct_passages_hourly": (
        "passage_hourly_id",
        ["location_code", "passage_date", "hour_of_day", "vehicle_category_code"],
    ),
    "fct_passages_by_fuel": (
        "passage_fuel_id",
        ["location_code", "passage_date", "vehicle_category_code", "fuel_type_code"],
    ),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def surrogate_key_sql(columns: list[str]) -> str:
    """The SQL macros/surrogate_key.sql renders for these columns."""
    parts = ", ".join(f"coalesce(cast({column} as varchar), '~')" for column in columns)
    return f"md5(concat_ws('|', {parts}))"


def measure(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, float, object]:
    """(CPU s, wall s, first value) of one statement."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    row = con.execute(sql).fetchone()
    return cpu_seconds() - cpu, time.perf_counter() - wall, row[0] if row else None


def fact_costs(con: duckdb.DuckDBPyConnection, fact: str) -> list[tuple[str, float, float]]:
    """[(what, CPU s, wall s)] for one fact; raises if the recomputed id differs from the stored one."""
    id_column, keys = FACTS[fact]
    source = f"wh.marts.{fact}"
    key = surrogate_key_sql(keys)
    costs = []
    cpu, wall, _ = measure(con, f"select sum(hash(t)) from {source} as t")
    costs.append(("rows", cpu, wall))
    cpu, wall, _ = measure(con, f"select count({key}) from {source}")
    costs.append(("id", cpu, wall))
    _, _, differing = measure(con, f"select count(*) from {source} where {key} is distinct from {id_column}")
    if differing:
        raise SystemExit(f"{fact}: {differing} rows whose {id_column} is not surrogate_key({', '.join(keys)})")
    for what, columns in (("store all", "*"), ("store no id", f"* exclude ({id_column})"), ("store id", id_column)):
        con.execute("drop table if exists scratch_fact")
        cpu, wall = cpu_seconds(), time.perf_counter()
        con.execute(f"create table scratch_fact as select {columns} from {source}")
        con.execute("checkpoint")
        costs.append((what, cpu_seconds() - cpu, time.perf_counter() - wall))
    con.execute("drop table scratch_fact")
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fact-write-costs-") as scratch:
        con = duckdb.connect(str(Path(scratch) / "scratch.duckdb"))
        con.execute(f"set threads = {args.threads}")
        con.execute("set memory_limit = '2GiB'")  # as the build (anpr_warehouse/duckdb_settings.py)
        con.execute(f"attach '{args.warehouse}' as wh (read_only)")
        print("| fact | rows | what | CPU s | wall s |")
        print("|---|---|---|---|---|")
        for fact in FACTS:
            rows = con.execute(f"select count(*) from wh.marts.{fact}").fetchone()[0]
            for what, cpu, wall in fact_costs(con, fact):
                print(f"| {fact} | {rows} | {what} | {cpu:.2f} | {wall:.2f} |", flush=True)
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
