"""The dbt layers on real loaded deliveries: build passes, domain tests bite, layouts agree, project rules hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse.load import load_delivery
from anpr_warehouse.paths import PROJECT_ROOT

from .cli_support import anpr_ok as anpr
from .cli_support import dbt, query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def built_warehouse(deliveries, tmp_path_factory) -> Path:
    """v1 March (corrected) and April for GM0344, built with dbt (models, data tests, unit tests)."""
    path = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    for name in ("v1", "v1_april", "v1_correction"):
        load_delivery(deliveries[name], path)
    anpr("build", "--warehouse", str(path))
    return path


def test_build_fills_every_mart_from_current_deliveries_only(built_warehouse):
    marts = [r[0] for r in query(built_warehouse, "select table_name from duckdb_tables() where schema_name = 'marts'")]
    assert {
        "fct_passages_hourly",
        "fct_passages_by_fuel",
        "fct_emission_profile",
        "fct_sector_profile",
        "fct_origin_profile",
        "fct_visit_frequency",
        "fct_ze_access",
        "dim_location",
        "dim_zone",
        "dim_date",
        "dim_municipality",
    } <= set(marts)
    for table in marts:
        assert query(built_warehouse, f"select count(*) from marts.{table}")[0][0] > 0, table
    deliveries = {r[0] for r in query(built_warehouse, "select distinct delivery_id from marts.fct_passages_hourly")}
    assert deliveries == {"CBS-ANPR-GM0344-2025MM03-2", "CBS-ANPR-GM0344-2025MM04-1"}  # v1 of March is superseded


def test_totals_are_cbs_published_totals_not_reaggregations(built_warehouse, deliveries):
    """The fact's T001 rows equal CBS's T001 values in the delivered file, cell for cell."""
    delivered = duckdb.sql(
        f"""select Location, Date::date, cast(substr(Hour, 2) as int), Value from read_csv('{deliveries["v1_correction"]}/T01_Observations.csv', all_varchar=true)
            where VehicleCategory = 'T001' and ValueAttribute = 'None'"""
    ).fetchall()
    warehouse = query(
        built_warehouse,
        """select location_code, passage_date, hour_of_day, cast(passages as varchar) from marts.fct_passages_hourly
           where is_category_total and cell_status = 'published' and month_start = '2025-03-01'""",
    )
    assert sorted(delivered) == sorted(warehouse)


def _failed_tests() -> set[str]:
    results = json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())
    return {r["unique_id"] for r in results["results"] if r["status"] in ("fail", "error")}


def test_domain_tests_fail_on_broken_input(built_warehouse, tmp_path):
    """Each domain rule has a test that a broken input makes fail (the loader is bypassed on purpose)."""
    broken = tmp_path / "broken.duckdb"
    shutil.copy(built_warehouse, broken)
    con = duckdb.connect(str(broken))
    con.execute("update raw.cbs_v1_locations set Title = 'Camera bij 12-ABC-3' where Identifier = 'GM0344_L001'")
    con.execute("""update raw.cbs_v1_t05_observations set Value = '10'
                   where Id = (select min(Id) from raw.cbs_v1_t05_observations where ValueAttribute = 'Confidential' and delivery_id like '%MM04%')
                     and delivery_id like '%MM04%'""")
    con.execute("""update raw.cbs_v1_t03_observations set Value = '7'
                   where Id = (select min(Id) from raw.cbs_v1_t03_observations where ValueAttribute = 'None' and delivery_id like '%MM04%')
                     and delivery_id like '%MM04%'""")
    con.execute("""delete from raw.cbs_v1_t01_observations
                   where Id = (select min(Id) from raw.cbs_v1_t01_observations where VehicleCategory = 'T001' and delivery_id like '%MM04%')
                     and delivery_id like '%MM04%'""")
    con.close()
    # run every model first (a build would skip models downstream of the first failing test), then test;
    # --full-refresh: raw rows of already built deliveries were changed in place, which no incremental run expects
    assert dbt("run", "--full-refresh", warehouse=broken).returncode == 0
    assert dbt("test", warehouse=broken).returncode != 0
    failed = _failed_tests()
    expectations = {
        "column_rules_stg_cbs__locations": "plate in a code list",
        "column_rules_stg_cbs__t05_observations": "confidential cell with a value",
        "column_rules_stg_cbs__t03_observations": "value not a multiple of the rounding base",
        "column_rules_fct_passages_hourly": "missing CBS total",
    }
    for fragment, rule in expectations.items():
        assert any(fragment in test for test in failed), f"no failing test for: {rule} ({fragment}); failed: {sorted(failed)}"
    # column_rules checks several rules in one node: its failing rows say which one broke
    failed_rules = {
        table: query(broken, f"select distinct failed_rules from test_failures.column_rules_{table}")
        for table in ("stg_cbs__t05_observations", "stg_cbs__t03_observations", "stg_cbs__locations", "fct_passages_hourly")
    }
    assert failed_rules == {
        "stg_cbs__t05_observations": [("cell_value: value_matches_cell_status (cell_status)",)],
        "stg_cbs__t03_observations": [("cell_value: multiple_of_rounding_base",)],
        "stg_cbs__locations": [("location_name: no_licence_plate",)],
        "fct_passages_hourly": [("(location_code, passage_date, hour_of_day): total_present (vehicle_category_code)",)],
    }


def test_legacy_and_v1_of_the_same_month_give_the_same_fact_rows(deliveries, tmp_path):
    """Same traffic delivered in both layouts: identical hourly and fuel facts (values and publication)."""
    facts = {}
    for layout in ("v1", "legacy"):
        path = tmp_path / f"{layout}.duckdb"
        load_delivery(deliveries[layout], path)
        anpr("build", "--warehouse", str(path))
        facts[layout] = (
            query(
                path,
                """select location_code, passage_date, hour_of_day, vehicle_category_code, passages, cell_status = 'published'
                           from marts.fct_passages_hourly order by all""",
            ),
            query(
                path,
                """select location_code, passage_date, vehicle_category_code, fuel_type_code, passages, cell_status = 'published'
                           from marts.fct_passages_by_fuel order by all""",
            ),
        )
    assert len(facts["v1"][0]) > 1000 and len(facts["v1"][1]) > 1000
    assert facts["v1"] == facts["legacy"]


def test_docs_generate_works(built_warehouse):
    proc = dbt("docs", "generate", warehouse=built_warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:]
    catalog = json.loads((PROJECT_ROOT / "target" / "catalog.json").read_text())
    assert "model.anpr_warehouse.fct_ze_access" in catalog["nodes"]


def test_analyses_compile_and_answer_their_question(built_warehouse):
    """Every example query in analyses/ compiles and returns rows on a built warehouse (the standard questions are saved queries)."""
    assert dbt("compile", "--select", "resource_type:analysis", warehouse=built_warehouse).returncode == 0
    names = sorted(p.name for p in (PROJECT_ROOT / "analyses").glob("*.sql"))
    compiled = [PROJECT_ROOT / "target" / "compiled" / "anpr_warehouse" / "analyses" / name for name in names]
    assert names and all(path.exists() for path in compiled), names
    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        for path in compiled:
            rows = con.execute(path.read_text()).fetchall()
            assert rows, f"{path.name} returned nothing"
    finally:
        con.close()


def test_source_freshness_of_the_delivery_register(built_warehouse):
    """The register's loaded_at is checked by dbt's source freshness (warn after 45 days, error after 120)."""
    proc = dbt("source", "freshness", warehouse=built_warehouse)
    assert proc.returncode == 0, proc.stdout[-3000:]
    sources = json.loads((PROJECT_ROOT / "target" / "sources.json").read_text())
    register = [r for r in sources["results"] if r["unique_id"].endswith("cbs_deliveries")]
    assert register and register[0]["status"] == "pass"
