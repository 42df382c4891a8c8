"""One `column_rules` test per model (macros/generic_tests.sql) keeps the meaning of dbt's not_null and
accepted_values and of the project's value_matches_cell_status and multiple_of_rounding_base.

Defects are written straight into the raw tables after loading: the loader refuses them, but the rule is
about what the data tests do when one still gets past it. A new delivery with a null or an unknown code
fails the incremental build and is quarantined by name; on a delivery that already built, `dbt test` by
hand (which tests everything) reports each broken column and rule in the failing row.
"""

from __future__ import annotations

import json
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
    assert f"build: {APRIL} failed {T01_RULES} (1 failing row: cell_status: not_null)" in proc.stderr
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
    assert (
        f"build: {APRIL} failed {T01_RULES} (1 failing row: measure_code: accepted_values (M_PASSAGES, M_VEHICLES))"
        in proc.stderr
    ), proc.stderr[-3000:]


def test_a_value_off_the_rounding_base_in_a_new_delivery_fails_the_build(march_built, tmp_path):
    """A published value that is no multiple of the delivery's rounding base (5) fails column_rules on the new delivery."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    break_t01_row(warehouse, APRIL, "ValueAttribute", "None")
    break_t01_row(warehouse, APRIL, "Value", "7")
    proc = build(warehouse)
    assert f"build: {APRIL} failed {T01_RULES} (1 failing row: cell_value: multiple_of_rounding_base)" in proc.stderr, (
        proc.stderr[-3000:]
    )


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


# Rules folded into column_rules from their own test nodes (relationships, unique_combination, total_present,
# no_licence_plate): each still fails on a new delivery's bad rows, and the build names the rule.
FIRST_LINE = "(select min(line_number) from raw.{table} where delivery_id = '{delivery}'{where})"
FOLDED_RULES = {
    "relationships": (
        "update raw.cbs_v1_t01_observations set Location = 'GM0344_L999' "
        f"where delivery_id = '{APRIL}' and line_number = "
        + FIRST_LINE.format(table="cbs_v1_t01_observations", delivery=APRIL, where=""),
        "location_code: relationships (dim_location.location_code)",
    ),
    "total_present": (
        f"delete from raw.cbs_v1_t01_observations where delivery_id = '{APRIL}' and line_number = "
        + FIRST_LINE.format(
            table="cbs_v1_t01_observations", delivery=APRIL, where=" and VehicleCategory = 'T001' and Measure = 'M_PASSAGES'"
        ),
        "(location_code, passage_date, hour_of_day): total_present (vehicle_category_code)",
    ),
    "unique_combination against a delivery built before": (
        # an April cell given the key of a March cell: a collision only a look at March's rows can see
        """update raw.cbs_v1_t01_observations as cells
           set Location = march.Location, Date = march.Date, Hour = march.Hour, VehicleCategory = march.VehicleCategory
           from (select * from raw.cbs_v1_t01_observations where delivery_id = '{march}' and Measure = 'M_PASSAGES'
                 order by line_number limit 1) as march
           where cells.delivery_id = '{april}' and cells.line_number = {first}""".format(
            march=MARCH,
            april=APRIL,
            first=FIRST_LINE.format(table="cbs_v1_t01_observations", delivery=APRIL, where=" and Measure = 'M_PASSAGES'"),
        ),
        "(location_code, passage_date, hour_of_day, vehicle_category_code): unique_combination",
    ),
    "no_licence_plate": (
        f"update raw.cbs_v1_code_lists set Title = 'kenteken VB-12-CD' where delivery_id = '{APRIL}' and line_number = "
        + FIRST_LINE.format(table="cbs_v1_code_lists", delivery=APRIL, where=""),
        "title_nl: no_licence_plate",
    ),
}


@pytest.mark.parametrize("rule", sorted(FOLDED_RULES))
def test_a_folded_rule_fails_on_a_new_delivery_and_quarantines_it(march_built, tmp_path, rule):
    """The new delivery's bad row fails its model's column_rules; the build names the rule and keeps March."""
    statement, named = FOLDED_RULES[rule]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    execute(warehouse, statement)
    proc = build(warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next((line for line in proc.stderr.splitlines() if line.startswith(f"build: {APRIL} failed ")), "")
    assert named in line, proc.stderr[-3000:]
    status = dict(execute(warehouse, "select delivery_id, build_status from raw.cbs_deliveries"))
    assert status == {MARCH: "ok", APRIL: "failed"}
    months = execute(warehouse, "select distinct strftime(month_start, '%Y-%m') from marts.fct_passages_hourly")
    assert months == [("2025-03",)]


def test_a_duplicate_id_fails_its_own_rule(march_built, tmp_path):
    """An md5 id is still checked itself: `dbt test` reads every row and counts the id among them (an incremental
    build counts its grain among every row instead, see the unique_combination case above)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    execute(warehouse, "insert into marts.fct_passages_hourly select * from marts.fct_passages_hourly order by all limit 1")
    proc = dbt("test", "--select", "column_rules_fct_passages_hourly", warehouse=warehouse)
    assert proc.returncode != 0, proc.stdout[-3000:]
    rows = execute(warehouse, "select delivery_id, failed_rules from test_failures.column_rules_fct_passages_hourly")
    grain = "location_code, passage_date, hour_of_day, vehicle_category_code"
    assert rows == [(MARCH, f"passage_hourly_id: unique (an id of {grain})")] * 2  # every row read: the id, as dbt's unique


def test_the_register_rules_fail_and_name_themselves(march_built, tmp_path):
    """The register's own rules are a source's column_rules (its primary key already refuses a second delivery id)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    execute(warehouse, "update raw.cbs_deliveries set status = 'bogus'")
    proc = dbt("test", "--select", "column_rules_cbs_deliveries", warehouse=warehouse)
    assert proc.returncode != 0, proc.stdout[-3000:]
    rows = execute(warehouse, "select delivery_id, failed_rules from test_failures.column_rules_cbs_deliveries")
    assert rows == [(MARCH, "status: accepted_values (current, superseded)")]


def test_a_failing_rule_keeps_the_models_built_from_it_waiting(march_built, tmp_path):
    """When the hourly fact's rules fail, dbt skips the daily fact built from it in that build.

    dbt holds a model back only for the tests whose every parent is upstream of it, so the fact's
    references to dimensions the daily fact does not read are a node of their own (relationships_...).
    """
    statement, _ = FOLDED_RULES["total_present"]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    execute(warehouse, statement)
    target = tmp_path / "target"
    proc = dbt("build", "--select", "fct_passages_hourly+", "--target-path", str(target), warehouse=warehouse)
    assert proc.returncode != 0, proc.stdout[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    status = {result["unique_id"].split(".")[2]: result["status"] for result in results}
    assert status.get("column_rules_fct_passages_hourly") == "fail", status
    assert status["fct_passages_daily"] == "skipped"
    assert status["fct_passages_monthly"] == "skipped"


def test_a_broken_register_stops_the_build_as_the_warehouses_problem(march_built, tmp_path):
    """The register's source test names no model it is attached to; the build still knows it for the register's
    own (no delivery is quarantined for it: the register itself is wrong)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(march_built[0], warehouse)
    load_delivery(march_built[1][APRIL], warehouse)
    execute(warehouse, f"update raw.cbs_deliveries set status = 'bogus' where delivery_id = '{MARCH}'")
    proc = build(warehouse)
    assert proc.returncode != 0, proc.stdout[-3000:]
    named = "column_rules_cbs_deliveries: 1 failing row: status: accepted_values (current, superseded)"
    assert f"{named}; a test of the register itself" in proc.stderr, proc.stderr[-3000:]
    status = dict(execute(warehouse, "select delivery_id, build_status from raw.cbs_deliveries"))
    assert status[APRIL] != "failed"
