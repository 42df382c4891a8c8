"""The generator: deterministic, protected the way CBS protects, and realistic enough to test and benchmark on."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.generate.sdc import total_dimensions


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    return generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=3, locations=6), tmp_path_factory.mktemp("gen"))


def _read(folder: Path, table: str) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"select * from read_csv('{folder / (table + '_Observations.csv')}', all_varchar=true)")


def test_same_seed_gives_the_same_bytes(tmp_path):
    request = GenerateRequest("GM0363", 2025, 2, seed=9, locations=3)
    first, second = generate_delivery(request, tmp_path / "a"), generate_delivery(request, tmp_path / "b")
    assert {p.name: p.read_bytes() for p in first.iterdir()} == {p.name: p.read_bytes() for p in second.iterdir()}
    other = generate_delivery(GenerateRequest("GM0363", 2025, 2, seed=10, locations=3), tmp_path / "c")
    assert (other / "T01_Observations.csv").read_bytes() != (first / "T01_Observations.csv").read_bytes()


@pytest.mark.parametrize("code", list(c.OBSERVATION_TABLES))
def test_no_secret_cell_can_be_derived_from_a_published_total(delivery, code):
    """Secondary suppression: in every row or column with a published total, never exactly one confidential cell."""
    table = c.OBSERVATION_TABLES[code]
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_csv('{delivery / table.file}', all_varchar=true)")
    for dim in total_dimensions(table, 2025):
        others = ["Measure"] + [d for d in table.dimensions if d != dim]
        exposed = con.execute(f"""
            select {', '.join(others)} from t group by {', '.join(others)}
            having bool_or({dim} = 'T001' and ValueAttribute = 'None')
               and count(*) filter (where {dim} <> 'T001' and ValueAttribute = 'Confidential') = 1
        """).fetchall()
        assert not exposed, f"{code}: total over {dim} exposes one secret cell in {exposed[:3]}"
    values = [int(v) for (v,) in con.execute("select Value from t where ValueAttribute = 'None'").fetchall()]
    assert values and all(v % 5 == 0 for v in values)  # rounded to the rounding base
    assert con.execute("select count(*) from t where ValueAttribute = 'Confidential'").fetchone()[0] > 0


def test_traffic_has_daily_and_hourly_rhythm(delivery):
    by_hour = dict(_read(delivery, "T01").filter("VehicleCategory = 'T001' and Value <> ''")
                   .aggregate("Hour, sum(Value::int)", "Hour").fetchall())
    assert min(by_hour[h] for h in ("H07", "H08", "H09")) > 5 * max(by_hour[h] for h in ("H01", "H02", "H03"))
    by_day = dict(duckdb.sql(f"""select isodow(Date::date), sum(Value::int) from read_csv('{delivery / 'T02_Observations.csv'}', all_varchar=true)
                                 where VehicleCategory = 'T001' and FuelType = 'T001' and Value <> '' group by 1""").fetchall())
    assert by_day[2] > 2 * by_day[7]  # Tuesdays far busier than Sundays


def test_vehicle_mix_is_believable(delivery):
    categories = dict(_read(delivery, "T03").filter(
        "Measure = 'M_PASSAGES' and EmissionClass = 'T001' and FirstAdmissionYear = 'T001' and VehicleCategory <> 'T001' and Value <> ''"
    ).aggregate("VehicleCategory, sum(Value::int)", "VehicleCategory").fetchall())
    assert max(categories, key=categories.get) == "BEST"  # mostly vans
    fuels = dict(duckdb.sql(f"""select FuelType, sum(Value::int) from read_csv('{delivery / 'T02_Observations.csv'}', all_varchar=true)
                                where VehicleCategory = 'T001' and FuelType <> 'T001' and Value <> '' group by 1""").fetchall())
    assert max(fuels, key=fuels.get) == "DIES" and fuels["ELEK"] > fuels.get("WATS", 0)
    sectors = dict(_read(delivery, "T04").filter(
        "Measure = 'M_PASSAGES' and VehicleCategory = 'T001' and OwnerType = 'T001' and SbiSection not in ('T001', 'NVT', 'ONBK') and Value <> ''"
    ).aggregate("SbiSection, sum(Value::int)", "SbiSection").fetchall())
    assert set(sorted(sectors, key=sectors.get)[-3:]) == {"F", "G", "H"}


def test_emission_classes_follow_first_admission(delivery):
    rows = _read(delivery, "T03").filter(
        "Measure = 'M_VEHICLES' and VehicleCategory = 'BEST' and FirstAdmissionYear like 'FA%' and EmissionClass not in ('T001', 'EZ', 'ONBK')"
    ).filter("ValueAttribute = 'None' and Value::int > 0").fetchall()
    assert rows
    for row in rows:
        year, euro = int(row[5][2:]), int(row[4][1:])
        assert (euro <= 4 and year <= 2011) or (euro == 5 and 2010 <= year <= 2016) or (euro == 6 and year >= 2015), row


def test_many_occasional_and_few_frequent_visitors(delivery):
    visits = dict(_read(delivery, "T06").filter("VehicleCategory = 'T001' and Value <> ''")
                  .aggregate("VisitDayClass, sum(Value::int)", "VisitDayClass").fetchall())
    assert visits["D01"] > visits["D02_04"] > visits["D05_09"] > visits["D10_19"] > visits["D20P"] > 0


def test_electric_share_grows_over_time(tmp_path):
    shares = []
    for year in (2024, 2025):
        folder = generate_delivery(GenerateRequest("GM0599", year, 6, seed=4, locations=3), tmp_path / str(year))
        rows = dict(duckdb.sql(f"""select FuelType, sum(Value::int) from read_csv('{folder / 'T02_Observations.csv'}', all_varchar=true)
                                   where VehicleCategory = 'BEST' and Value <> '' group by 1""").fetchall())
        shares.append(rows["ELEK"] / rows["T001"])
    assert shares[1] > shares[0] * 1.2


def test_foreign_or_unreadable_plates_have_no_register_attributes(delivery):
    leaked = _read(delivery, "T02").filter(
        "VehicleCategory = 'ONBK' and FuelType not in ('ONBK', 'T001') and ValueAttribute <> 'Impossible'").fetchall()
    assert leaked == []


def test_grids_are_complete_with_totals(delivery):
    t01 = _read(delivery, "T01")
    groups = t01.aggregate("Location, Date, Hour, count(*) as n", "Location, Date, Hour").fetchall()
    assert {n for *_, n in groups} == {len(c.VEHICLE_CATEGORIES) + 1}  # every category plus the T001 total
