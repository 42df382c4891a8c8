"""`anpr build` isolates a delivery that fails a dbt data test: the others are built, its month keeps its last good state.

Defects are written straight into the raw tables after loading: the loader refuses most of them, but
the rule is about what happens when one still gets past it.
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

from .cli_support import query

pytestmark = pytest.mark.slow

SMALL = dict(seed=7, locations=4)
UTRECHT_MARCH, UTRECHT_APRIL = "CBS-ANPR-GM0344-2025MM03-1", "CBS-ANPR-GM0344-2025MM04-1"
AMSTERDAM_MARCH, AMSTERDAM_CORRECTION = "CBS-ANPR-GM0363-2025MM03-1", "CBS-ANPR-GM0363-2025MM03-2"
AMSTERDAM_APRIL = "CBS-ANPR-GM0363-2025MM04-1"
# One column_rules node checks every rule of a model; the build names the node and the rule its rows broke.
DUPLICATE_ROW_TEST = "column_rules_stg_cbs__t01_observations"
DUPLICATE_ROW_RULE = "(delivery_id, line_number): unique_combination"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("isolation_deliveries")
    requests = {
        UTRECHT_MARCH: GenerateRequest("GM0344", 2025, 3, **SMALL),
        UTRECHT_APRIL: GenerateRequest("GM0344", 2025, 4, **SMALL),
        AMSTERDAM_MARCH: GenerateRequest("GM0363", 2025, 3, **SMALL),
        AMSTERDAM_CORRECTION: GenerateRequest("GM0363", 2025, 3, version=2, **SMALL),
        AMSTERDAM_APRIL: GenerateRequest("GM0363", 2025, 4, **SMALL),
    }
    return {delivery_id: generate_delivery(request, out / delivery_id) for delivery_id, request in requests.items()}


def anpr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=1800)


def build(warehouse: Path, *extra: str) -> subprocess.CompletedProcess:
    return anpr("build", *extra, "--warehouse", str(warehouse))


def duplicate_a_t01_row(warehouse: Path, delivery_id: str) -> None:
    """A defect the loader would refuse (a duplicate line), written past it into the raw table."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            """insert into raw.cbs_v1_t01_observations
               select * from raw.cbs_v1_t01_observations where delivery_id = ? order by line_number limit 1""",
            [delivery_id],
        )
    finally:
        con.close()


def register(warehouse: Path) -> dict[str, tuple]:
    rows = query(warehouse, "select delivery_id, status, build_status, build_failure from raw.cbs_deliveries")
    return {row[0]: row[1:] for row in rows}


FACTS = "select * from marts.{table} where municipality_code = ? order by all"
FACT_TABLES = ("fct_passages_hourly", "fct_emission_profile", "fct_visit_frequency")


def facts_of(warehouse: Path, municipality: str) -> dict[str, list[tuple]]:
    return {table: query(warehouse, FACTS.format(table=table), [municipality]) for table in FACT_TABLES}


@pytest.fixture(scope="module")
def corrected(generated, tmp_path_factory):
    """Utrecht and Amsterdam March built; then Utrecht April and a broken Amsterdam correction, built again."""
    warehouse = tmp_path_factory.mktemp("isolation") / "warehouse.duckdb"
    for delivery_id in (UTRECHT_MARCH, AMSTERDAM_MARCH):
        load_delivery(generated[delivery_id], warehouse)
    first = build(warehouse)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    before = facts_of(warehouse, "GM0363")
    for delivery_id in (UTRECHT_APRIL, AMSTERDAM_CORRECTION):
        load_delivery(generated[delivery_id], warehouse)
    duplicate_a_t01_row(warehouse, AMSTERDAM_CORRECTION)
    return warehouse, before, build(warehouse)


def test_failing_correction_does_not_stop_the_build_and_is_named(corrected):
    _, _, proc = corrected
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    warning = next(line for line in proc.stderr.splitlines() if line.startswith(f"build: {AMSTERDAM_CORRECTION} failed"))
    assert f"{DUPLICATE_ROW_TEST} (2 failing rows: {DUPLICATE_ROW_RULE})" in warning  # the line and its copy
    assert f"GM0363 2025-03 keeps {AMSTERDAM_MARCH} (last good)" in warning


def test_failing_month_keeps_its_last_good_state(corrected):
    warehouse, before, _ = corrected
    assert all(before[table] for table in FACT_TABLES)
    assert facts_of(warehouse, "GM0363") == before
    flowing = query(
        warehouse, "select delivery_id from staging.stg_cbs__deliveries where municipality_code = 'GM0363' and is_flowing"
    )
    assert flowing == [(AMSTERDAM_MARCH,)]


def test_other_municipalities_are_built(corrected):
    """Utrecht's April arrived with the broken correction and is in every fact table: the marts were rebuilt."""
    warehouse, _, _ = corrected
    for table in FACT_TABLES:
        months = query(warehouse, f"select distinct delivery_id from marts.{table} where municipality_code = 'GM0344' order by 1")
        assert months == [(UTRECHT_MARCH,), (UTRECHT_APRIL,)], table
    assert query(warehouse, "select current_deliveries from marts.dim_municipality where municipality_code = 'GM0344'") == [(2,)]


def test_register_marks_the_failed_delivery_and_keeps_history(corrected):
    warehouse, _, _ = corrected
    entries = register(warehouse)
    status, build_status, failure = entries[AMSTERDAM_CORRECTION]
    assert (status, build_status) == ("current", "failed")
    assert f"{DUPLICATE_ROW_TEST} (2 failing rows: {DUPLICATE_ROW_RULE})" in failure
    assert entries[AMSTERDAM_MARCH] == ("superseded", "ok", None)
    assert entries[UTRECHT_MARCH][1:] == entries[UTRECHT_APRIL][1:] == ("ok", None)
    listing = anpr("deliveries", "--warehouse", str(warehouse))
    line = next(line for line in listing.stdout.splitlines() if line.startswith(AMSTERDAM_CORRECTION))
    assert " failed " in line and DUPLICATE_ROW_TEST in line


def test_failure_in_a_delivery_that_built_before_stops_the_build(corrected, tmp_path):
    """Rows of a delivery that passed an earlier build cannot fail by themselves: exit 2, nothing quarantined.

    An incremental build does not test rows of deliveries built before; raw rows changed in place are
    found by a full build (README, "A monthly run").
    """
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(corrected[0], warehouse)
    duplicate_a_t01_row(warehouse, UTRECHT_MARCH)
    before = register(warehouse)
    proc = build(warehouse, "--full-refresh")
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no newly loaded delivery explains it" in proc.stderr
    assert (
        f"{DUPLICATE_ROW_TEST}: 2 failing rows: {DUPLICATE_ROW_RULE}; only in deliveries that passed an earlier build"
        in proc.stderr
    )
    assert register(warehouse) == before


def test_first_delivery_that_fails_leaves_its_month_out(generated, tmp_path):
    """No earlier delivery of the month built ok: that month is absent; Amsterdam's March and Utrecht are built.

    The failing test is on dim_location, whose rows name only the municipality: the month it shows
    (the newest, April) is blamed, not every month of Amsterdam loaded with it.
    """
    warehouse = tmp_path / "warehouse.duckdb"
    for delivery_id in (UTRECHT_MARCH, AMSTERDAM_MARCH, AMSTERDAM_APRIL):
        load_delivery(generated[delivery_id], warehouse)
    con = duckdb.connect(str(warehouse))
    try:  # a camera in a zone Amsterdam never delivered: dim_location's relationships to dim_zone fail
        con.execute(
            "update raw.cbs_v1_locations set ZoneIdentifier = 'GM0363_Z99' where delivery_id = ? and Identifier = 'GM0363_L001'",
            [AMSTERDAM_APRIL],
        )
    finally:
        con.close()
    proc = build(warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (
        f"build: {AMSTERDAM_APRIL} failed relationships_dim_location (1 failing row: zone_code: relationships (dim_zone.zone_code))"
        in proc.stderr
    )
    assert "GM0363 2025-04 is left out of the marts" in proc.stderr
    entries = register(warehouse)
    assert [entries[d][1] for d in (AMSTERDAM_APRIL, AMSTERDAM_MARCH, UTRECHT_MARCH)] == ["failed", "ok", "ok"]
    for table in FACT_TABLES:
        present = query(warehouse, f"select distinct delivery_id from marts.{table} order by 1")
        assert present == [(UTRECHT_MARCH,), (AMSTERDAM_MARCH,)], table
    zones = query(warehouse, "select zone_code from marts.dim_location where location_code = 'GM0363_L001'")
    assert zones == [("GM0363_Z01",)]


def test_register_from_before_build_statuses_keeps_working(generated, tmp_path):
    """A warehouse whose register predates the build columns gets them on the next load; its listing still works."""
    warehouse = tmp_path / "warehouse.duckdb"
    load_delivery(generated[UTRECHT_MARCH], warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        for column in ("build_status", "build_failure", "built_at"):
            con.execute(f"alter table raw.cbs_deliveries drop column {column}")
    finally:
        con.close()
    listing = anpr("deliveries", "--warehouse", str(warehouse))
    assert listing.returncode == 0 and "not built" in listing.stdout, listing.stderr
    load_delivery(generated[AMSTERDAM_MARCH], warehouse)
    assert register(warehouse) == {UTRECHT_MARCH: ("current", None, None), AMSTERDAM_MARCH: ("current", None, None)}


def test_later_builds_keep_naming_the_quarantined_month(corrected):
    """The next successful build repeats which current delivery is quarantined and what its month shows."""
    from anpr_warehouse.build import _summary

    con = duckdb.connect(str(corrected[0]), read_only=True)
    try:
        lines = _summary(con, [])
    finally:
        con.close()
    assert (
        lines[0]
        == f"build: {AMSTERDAM_CORRECTION} failed an earlier build (anpr deliveries); GM0363 2025-03 keeps {AMSTERDAM_MARCH} (last good)"
    )
    assert len(lines) == 2
