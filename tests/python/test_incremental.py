"""Incremental `anpr build` gives the same marts as one full build, and rewrites only what changed.

The sequence of a monthly rhythm (three months, build; a correction, build; a new month, build) runs on
one warehouse; a second warehouse loads the same deliveries and builds once with --full-refresh. Every
table of schema marts must then be equal row for row (a count and an order-free hash per table).
Before the last build the rows of untouched months get a marker in the incremental warehouse: the
incremental build must leave them as they are (a build that rewrites everything wipes the marker and
fails here), while the new month's rows are written. The marker is removed before comparing. That last build skips the seeds and the models and tests that read
no delivery (unchanged since the first build, reference_nodes.py), and its snapshot, started from the
previous one with only the changed partitions replaced, must equal the full build too. Its unit tests
are skipped too (the code is the one the first build tested); the full build runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.paths import PROJECT_ROOT
from anpr_warehouse.snapshots import current_snapshot

pytestmark = pytest.mark.slow

SMALL = dict(seed=11, locations=3)
JANUARY = "legacy January"  # a legacy delivery id ends in a content hash; this is only a key here
FEBRUARY, MARCH = "CBS-ANPR-GM0344-2025MM02-1", "CBS-ANPR-GM0344-2025MM03-1"
FEBRUARY_CORRECTION, APRIL = "CBS-ANPR-GM0344-2025MM02-2", "CBS-ANPR-GM0344-2025MM04-1"
MARKER = "~untouched"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """January in the legacy layout (its partitions take the legacy path), the rest v1."""
    out = tmp_path_factory.mktemp("incremental_deliveries")
    requests = {
        JANUARY: GenerateRequest("GM0344", 2025, 1, layout="legacy", **SMALL),
        FEBRUARY: GenerateRequest("GM0344", 2025, 2, **SMALL),
        MARCH: GenerateRequest("GM0344", 2025, 3, **SMALL),
        FEBRUARY_CORRECTION: GenerateRequest("GM0344", 2025, 2, version=2, **SMALL),
        APRIL: GenerateRequest("GM0344", 2025, 4, **SMALL),
    }
    return {delivery_id: generate_delivery(request, out / delivery_id) for delivery_id, request in requests.items()}


def anpr(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"anpr {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def load(warehouse: Path, *deliveries: Path) -> None:
    anpr("load", *map(str, deliveries), "--warehouse", str(warehouse))


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' order by table_name").fetchall()
    ]


def partitioned_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The mart tables keyed by delivery (the facts)."""
    return [
        r[0]
        for r in con.execute(
            """select table_name from duckdb_columns()
               where schema_name = 'marts' and column_name = 'delivery_id' and table_name like 'fct\\_%' escape '\\'
               order by table_name"""
        ).fetchall()
    ]


# dim_delivery records the history of the warehouse it is in (when each delivery was loaded or replaced):
# two warehouses fed the same deliveries in different runs differ there by design.
HISTORY_COLUMNS = ("loaded_at", "superseded_at")


def fingerprints(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Per mart table: (rows, sum of row hashes), equal for equal multisets of rows (history columns aside)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = {}
        for table in mart_tables(con):
            columns = [r[0] for r in con.execute(f"select * from marts.{table} limit 0").description]
            history = [c for c in columns if c in HISTORY_COLUMNS]
            rows = f"select * exclude ({', '.join(history)}) from marts.{table}" if history else f"select * from marts.{table}"
            found[table] = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from ({rows}) as t").fetchone()
        return found
    finally:
        con.close()


def mark_every_fact_row(warehouse: Path) -> dict[str, int]:
    """Marks every fact row (period_code gets a suffix); rows marked per table."""
    con = duckdb.connect(str(warehouse))
    try:
        marked = {}
        for table in partitioned_marts(con):
            con.execute(f"update marts.{table} set period_code = period_code || ?", [MARKER])
            marked[table] = con.execute(
                f"select count(*) from marts.{table} where period_code like '%' || ?", [MARKER]
            ).fetchone()[0]
        return marked
    finally:
        con.close()


def unmark(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Removes the marker; per table (rows still marked before, rows of April)."""
    con = duckdb.connect(str(warehouse))
    try:
        counts = {}
        for table in partitioned_marts(con):
            counts[table] = con.execute(
                f"""select count(*) filter (where period_code like '%' || ?), count(*) filter (where delivery_id = ?)
                    from marts.{table}""",
                [MARKER, APRIL],
            ).fetchone()
            con.execute(f"update marts.{table} set period_code = replace(period_code, ?, '')", [MARKER])
        return counts
    finally:
        con.close()


def test_incremental_sequence_equals_one_full_build(generated, tmp_path):
    incremental, full = tmp_path / "incremental" / "anpr.duckdb", tmp_path / "full" / "anpr.duckdb"

    load(incremental, generated[JANUARY], generated[FEBRUARY], generated[MARCH])
    anpr("build", "--warehouse", str(incremental))
    load(incremental, generated[FEBRUARY_CORRECTION])
    anpr("build", "--warehouse", str(incremental))
    marked = mark_every_fact_row(incremental)
    assert marked["fct_passages_hourly"] > 0 and marked["fct_passages_by_fuel"] > 0 and marked["fct_passages_daily"] > 0, marked
    load(incremental, generated[APRIL])
    anpr("build", "--warehouse", str(incremental))
    ran = {
        r["unique_id"].split(".")[0] for r in json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())["results"]
    }
    assert "seed" not in ran and {"model", "test"} <= ran, f"unchanged seeds were built again, or nothing was: {ran}"
    assert "unit_test" not in ran, "the unit tests ran again on unchanged code"
    after = unmark(incremental)

    # untouched months were not rewritten; the new month was written
    assert set(after) == set(marked)
    for table, (still_marked, april_rows) in after.items():
        assert still_marked == marked[table], f"{table}: untouched rows were rewritten ({still_marked} of {marked[table]} kept)"
        assert april_rows > 0, f"{table}: the new month was not built"

    load(full, *(generated[d] for d in (JANUARY, FEBRUARY, MARCH, FEBRUARY_CORRECTION, APRIL)))
    anpr("build", "--full-refresh", "--warehouse", str(full))
    ran = {
        r["unique_id"].split(".")[0] for r in json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())["results"]
    }
    assert {"seed", "model", "test", "unit_test"} <= ran, f"a full build must build and test everything: {ran}"

    expected, actual = fingerprints(full), fingerprints(incremental)
    assert set(actual) == set(expected) and len(expected) >= 15, sorted(expected)
    differing = {t: (actual[t], expected[t]) for t in expected if actual[t] != expected[t]}
    assert not differing, f"marts differ from the full build (rows, hash): {differing}"
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        flowing = {r[0] for r in con.execute("select distinct delivery_id from marts.fct_passages_hourly").fetchall()}
        kept = con.execute("select count(*) from duckdb_views() where schema_name = 'test_failures'").fetchone()[0]
    finally:
        con.close()
    assert {FEBRUARY_CORRECTION, MARCH, APRIL} < flowing and FEBRUARY not in flowing, flowing
    # passing builds keep no failing rows (only a failing test runs again to keep them, test_build_isolation.py)
    assert kept == 0, f"{kept} tests kept their (empty) failing rows although every test passed"

    # what readers get: the last snapshot started from the previous one, replaced only changed partitions, and
    # equals the full build (the marker was put into the warehouse after that snapshot, so it never reached it)
    snapshot = current_snapshot(incremental)
    assert snapshot.info()["reused_from"] and snapshot.info()["partitions_replaced"] > 0, snapshot.info()
    published = fingerprints(snapshot.database)
    differing = {t: (published.get(t), expected[t]) for t in expected if published.get(t) != expected[t]}
    assert not differing, f"the published snapshot differs from the full build (rows, hash): {differing}"
