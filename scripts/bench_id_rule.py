"""What the hourly fact's id rule costs in a full build's `column_rules` test, and what the alternatives would.

Why: on a full build `column_rules_fct_passages_hourly` counts the md5 id of every row (dbt's `unique`), one
node of ~11.5 s at N = 16 (benchmarks/results.md, "National scale: reading the figures (2026-11-30)"). This
times, on a built warehouse, the test's own SQL (as `dbt compile` renders it for a full build) against:

- `grain`: the id rule counting the grain columns instead of the id (what an incremental build already does);
- `hashed_id`: the id counted by its 64-bit hash first, then exactly among the ids whose hash repeats (as
  strong as counting the id: equal ids have equal hashes);
- `without_id` + `id_only`: the test split in two nodes, the rest and the id rule alone (their sum is the CPU
  a split costs; dbt could run them beside other nodes).

Each variant runs `--repeat` times in one DuckDB connection with the project's settings (2 threads), reading
the same warehouse; CPU seconds are this process's (DuckDB's threads included), wall seconds the query's.

    .venv/bin/python scripts/bench_id_rule.py --warehouse /work/bench-<you>/n4/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anpr_warehouse.duckdb_settings import connect  # noqa: E402

TEST = "column_rules_fct_passages_hourly"
ID = "passage_hourly_id"
GRAIN = ("location_code", "passage_date", "hour_of_day", "vehicle_category_code")


def compiled_test(warehouse: Path) -> str:
    """The test's SQL as dbt renders it outside `dbt build` (every row: a full build's scope)."""
    with tempfile.TemporaryDirectory() as target:
        env = {**os.environ, "ANPR_WAREHOUSE": str(warehouse)}
        dbt = str(Path(sys.executable).parent / "dbt")
        args = ["compile", "--quiet", "--select", TEST, "--target-path", target]
        subprocess.run(
            [dbt, *args, "--project-dir", str(ROOT), "--profiles-dir", str(ROOT / "profiles")],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return next(Path(target).rglob(f"{TEST}.sql")).read_text()


def variants(sql: str) -> dict[str, str]:
    """The test as it is and its alternatives, each as a count of failing rows."""
    id_cte = re.search(r"duplicate_keys_(\d+) as \(\s*select " + ID + r"\s.*?having count\(\*\) > 1\s*\)", sql, re.S)
    rule = re.search(r"coalesce\(\(" + ID + r" is not null\) and exists \(select 1 from duplicate_keys_\d+ .*?\), false\)", sql)
    if id_cte is None or rule is None:
        raise SystemExit(f"{TEST}: its id rule is no longer rendered as this script expects")
    number = id_cte.group(1)
    columns = ", ".join(GRAIN)
    grain_cte = (
        f"duplicate_keys_{number} as (\n    select {columns}\n    from cells\n    group by {columns}\n    having count(*) > 1\n)"
    )
    matches = " and ".join(f"duplicates.{c} is not distinct from cells.{c}" for c in GRAIN)
    grain_rule = f"coalesce(exists (select 1 from duplicate_keys_{number} as duplicates where {matches}), false)"
    hashed_cte = (
        f"duplicate_keys_{number} as (\n    select {ID}\n    from cells\n    where {ID} is not null and hash({ID}) in (\n"
        f"        select hash({ID}) from cells where {ID} is not null group by 1 having count(*) > 1\n    )\n"
        f"    group by {ID}\n    having count(*) > 1\n)"
    )
    relation = re.search(r'select \* from ("[^"]+"\."marts"\."fct_passages_hourly")', sql).group(1)
    found = {
        "as_is": sql,
        "grain": sql.replace(id_cte.group(0), grain_cte).replace(rule.group(0), grain_rule),
        "hashed_id": sql.replace(id_cte.group(0), hashed_cte),
        "without_id": sql.replace(id_cte.group(0) + ",", "").replace(rule.group(0), "false"),
        "id_only": f"select {ID} from {relation} where {ID} is not null group by {ID} having count(*) > 1",
    }
    return {name: f"select count(*) from ({query}) as failing" for name, query in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    queries = variants(compiled_test(args.warehouse.resolve()))
    con = connect(args.warehouse.resolve(), read_only=True)
    try:
        rows = con.execute("select count(*) from marts.fct_passages_hourly").fetchone()[0]
        print(f"{rows:,} rows in fct_passages_hourly; load average {os.getloadavg()[0]:.1f} at the start")
        for _ in range(args.repeat):
            for name, query in queries.items():
                cpu, wall = time.process_time(), time.perf_counter()
                failing = con.execute(query).fetchone()[0]
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(f"{name:<11} {wall:6.2f} s wall {cpu:6.2f} CPU s  failing rows {failing}  load {os.getloadavg()[0]:.1f}")
    finally:
        con.close()


if __name__ == "__main__":
    main()
