"""One `column_rules` test per model (macros/generic_tests.sql) keeps the meaning of dbt's not_null and
accepted_values and of the project's value_matches_cell_status and multiple_of_rounding_base.

Defects are written straight into the raw tables after loading: the loader refuses them, but the rule is
about what the data tests do when one still gets past it. A new delivery with a null or an unknown code
fails the incremental build and is quarantined by name; on a delivery that already built, `dbt test` by
hand (which tests everything) reports each broken column and rule in the failing row.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import load_delivery

from .cli_support import dbt

pytestmark = pytest.mark.slow

SMALL = dict(seed=11, locations=3)
MARCH, APRIL = "CBS-ANPR-GM0344-2025MM03-1", "CBS-ANPR-GM0344-2025MM04-1"
T01_RULES = "column_rules_stg_cbs__t01_observations"


@pytest.fixture(scope="module")
def march_built(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """March built ok; April generated, not loaded."""
    out = tmp_path_factory.mktemp("column_rules")
    generated = {
        MARCH: generate_delivery(GenerateRequest("GM0344", 2025, 3, **SMALL), out / MARCH),
        APRIL: generate_delivery(GenerateRequest("GM0344", 2025, 4, **SMALL), out / APRIL),
    }
    warehouse = out / "warehouse.duckdb"
    load_delivery(generated[MARCH], warehouse)
    proc = build(warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return warehouse, generated


def build(warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "build", "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=1800,
    )


def execute(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def break_t01_row(warehouse: Path, delivery_id: str, column: str, value: str | None, nth: int = 0) -> None:
    """Sets one column of the delivery's nth T01 line (by line number) to a value the loader would refuse."""
    execute(
        warehouse,
        f"""update raw.cbs_v1_t01_observations set {column} = ?
            where delivery_id = ? and line_number = (
                select line_number from raw.cbs_v1_t01_observations where delivery_id = ? order by line_number limit 1 offset ?
            )""",
        [value, delivery_id, delivery_id, nth],
    )


def test_a_null_in_a_new_delivery_fails_the_build_and_quarantines_it(march_built, tmp_path):
    """An unknown ValueAttribute decodes to a null cell status: column_rules fails on April's row only."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    break_t01_row(warehouse, APRIL, "ValueAttribute", "Bogus")
    proc = build(warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"build: quarantined {APRIL}" in proc.stderr
    assert f"build: {APRIL} failed {T01_RULES} (1 failing row)" in proc.stderr
    status = dict(execute(warehouse, "select delivery_id, build_status from raw.cbs_deliveries"))
    assert status == {MARCH: "ok", APRIL: "failed"}
    months = execute(warehouse, "select distinct strftime(month_start, '%Y-%m') from marts.fct_passages_hourly")
    assert months == [("2025-03",)]


def test_an_unknown_code_in_a_new_delivery_fails_the_build(march_built, tmp_path):
    """A measure outside the accepted values fails column_rules on the new delivery (nulls alone would pass)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    break_t01_row(warehouse, APRIL, "Measure", "M_BOGUS")
    proc = build(warehouse)
    assert f"build: {APRIL} failed {T01_RULES} (1 failing row)" in proc.stderr, proc.stderr[-3000:]


def test_a_value_off_the_rounding_base_in_a_new_delivery_fails_the_build(march_built, tmp_path):
    """A published value that is no multiple of the delivery's rounding base (5) fails column_rules on the new delivery."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    break_t01_row(warehouse, APRIL, "ValueAttribute", "None")
    break_t01_row(warehouse, APRIL, "Value", "7")
    proc = build(warehouse)
    assert f"build: {APRIL} failed {T01_RULES} (1 failing row)" in proc.stderr, proc.stderr[-3000:]


def test_failing_row_names_each_broken_column_and_rule(march_built, tmp_path):
    """`dbt test` by hand tests every row and keeps the failing ones: each says which column and rule it broke."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    break_t01_row(warehouse, MARCH, "ValueAttribute", "Bogus", nth=0)
    break_t01_row(warehouse, MARCH, "Measure", "M_BOGUS", nth=1)
    break_t01_row(warehouse, MARCH, "ValueAttribute", "Confidential", nth=2)  # a confidential cell...
    break_t01_row(warehouse, MARCH, "Value", "10", nth=2)  # ...with a value (a multiple of the rounding base 5)
    break_t01_row(warehouse, MARCH, "ValueAttribute", "None", nth=3)  # a published cell...
    break_t01_row(warehouse, MARCH, "Value", "7", nth=3)  # ...whose value is no multiple of 5
    proc = dbt("test", "--select", T01_RULES, warehouse=warehouse)
    assert proc.returncode != 0, proc.stdout[-3000:]
    rows = execute(warehouse, f"select delivery_id, failed_rules from test_failures.{T01_RULES} order by line_number")
    assert rows == [
        (MARCH, "cell_status: not_null"),
        (MARCH, "measure_code: accepted_values (M_PASSAGES, M_VEHICLES)"),
        (MARCH, "cell_value: value_matches_cell_status (cell_status)"),
        (MARCH, "cell_value: multiple_of_rounding_base"),
    ]
