"""The report chooses the ZE zone and the vehicle categories by the dimensions' flags, never by codes.

Why: the ZE zone used to be "the zone whose code ends in _Z01" and the regulated categories a tuple of codes; a
municipality whose ZE zone is Z02, or a category the rules start to regulate, would have been shown wrongly with
no error. Here the flags and the codes disagree on purpose, in a real DuckDB file with the marts' columns.
"""

from __future__ import annotations

import duckdb
import pytest

from anpr_warehouse.metrics import MetricResult, MetricValue
from anpr_warehouse.report.pages import CODE_DIMENSIONS, ReportData

MONTH = "2025-03-01"


@pytest.fixture()
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "flags.duckdb"))
    con.execute("create schema raw; create schema marts")
    con.execute("create table raw.cbs_deliveries (municipality_code varchar, period_start date, status varchar, layout varchar)")
    con.execute("insert into raw.cbs_deliveries values ('GM9999', ?, 'current', 'v1')", [MONTH])
    for _, table, key, sort in CODE_DIMENSIONS:  # the code lists the page labels (empty but for the ones asked here)
        sort_column = "" if sort == key else f", {sort} integer"
        con.execute(f"create table marts.{table} ({key} varchar, title_nl varchar, title_en varchar{sort_column})")
    con.execute("alter table marts.dim_vehicle_category add column is_logistics boolean")
    con.execute("alter table marts.dim_vehicle_category add column is_ze_regulated boolean")
    con.execute(
        """insert into marts.dim_vehicle_category values
           ('BEST', 'Bestelauto', 'Van', 1, true, true),
           ('VRAC', 'Vrachtauto', 'Rigid truck', 2, true, false),
           ('NEWC', 'Nieuwe categorie', 'New category', 3, true, true),
           ('PERS', 'Personenauto', 'Passenger car', 4, false, false)"""
    )
    con.execute("alter table marts.dim_first_admission_year add column first_admission_year integer")
    con.execute("insert into marts.dim_first_admission_year values ('FA2020', '2020', '2020', 2020), ('XXXX', '?', '?', null)")
    con.execute("create table marts.dim_zone (zone_code varchar, is_zero_emission_zone boolean)")
    con.execute("insert into marts.dim_zone values ('GM9999_Z01', false), ('GM9999_Z02', true)")
    yield con
    con.close()


def _rows(*zones: str) -> MetricResult:
    return MetricResult(["zone"], ["passages"], [{"zone": z, "passages": MetricValue(1, 0, True)} for z in zones])


def test_ze_zone_and_categories_come_from_the_flags(con):
    data = ReportData(layer=None, con=con, municipality="GM9999", month_start=MONTH, lang="nl")
    assert [r["zone"] for r in data.zone_rows(_rows("GM9999_Z01", "GM9999_Z02"))] == ["GM9999_Z02"]
    assert data.ze_categories == ["BEST", "NEWC"]  # regulated by the flag, not "BEST, VRAC, TREK"
    assert data.logistics_categories == ["BEST", "VRAC", "NEWC"]
    assert data.unknown_first_admission == {"XXXX"}


def test_an_answer_without_the_ze_zone_keeps_its_rows(con):
    """A legacy month has no zone tables: the page shows what there is rather than nothing."""
    data = ReportData(layer=None, con=con, municipality="GM9999", month_start=MONTH, lang="en")
    assert [r["zone"] for r in data.zone_rows(_rows("GM9999_Z01"))] == ["GM9999_Z01"]
