"""The generator: deterministic, protected the way CBS protects, and realistic enough to test and benchmark on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import numpy as np
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.generate.sdc import total_dimensions
from anpr_warehouse.generate.traffic import camera_counts, fuel_mix, make_sites, month_dates
from anpr_warehouse.reference import municipality


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
            select {", ".join(others)} from t group by {", ".join(others)}
            having bool_or({dim} = 'T001' and ValueAttribute = 'None')
               and count(*) filter (where {dim} <> 'T001' and ValueAttribute = 'Confidential') = 1
        """).fetchall()
        assert not exposed, f"{code}: total over {dim} exposes one secret cell in {exposed[:3]}"
    values = [int(v) for (v,) in con.execute("select Value from t where ValueAttribute = 'None'").fetchall()]
    assert values and all(v % 5 == 0 for v in values)  # rounded to the rounding base
    assert con.execute("select count(*) from t where ValueAttribute = 'Confidential'").fetchone()[0] > 0


def test_traffic_has_daily_and_hourly_rhythm(delivery):
    by_hour = dict(
        _read(delivery, "T01")
        .filter("VehicleCategory = 'T001' and Value <> ''")
        .aggregate("Hour, sum(Value::int)", "Hour")
        .fetchall()
    )
    assert min(by_hour[h] for h in ("H07", "H08", "H09")) > 5 * max(by_hour[h] for h in ("H01", "H02", "H03"))
    by_day = dict(
        duckdb.sql(f"""select isodow(Date::date), sum(Value::int) from read_csv('{delivery / "T02_Observations.csv"}', all_varchar=true)
                                 where VehicleCategory = 'T001' and FuelType = 'T001' and Value <> '' group by 1""").fetchall()
    )
    assert by_day[2] > 2 * by_day[7]  # Tuesdays far busier than Sundays


def test_vehicle_mix_is_believable(delivery):
    categories = dict(
        _read(delivery, "T03")
        .filter(
            "Measure = 'M_PASSAGES' and EmissionClass = 'T001' and FirstAdmissionYear = 'T001' and VehicleCategory <> 'T001' and Value <> ''"
        )
        .aggregate("VehicleCategory, sum(Value::int)", "VehicleCategory")
        .fetchall()
    )
    assert max(categories, key=categories.get) == "BEST"  # mostly vans
    fuels = dict(
        duckdb.sql(f"""select FuelType, sum(Value::int) from read_csv('{delivery / "T02_Observations.csv"}', all_varchar=true)
                                where VehicleCategory = 'T001' and FuelType <> 'T001' and Value <> '' group by 1""").fetchall()
    )
    assert max(fuels, key=fuels.get) == "DIES" and fuels["ELEK"] > fuels.get("WATS", 0)
    sectors = dict(
        _read(delivery, "T04")
        .filter(
            "Measure = 'M_PASSAGES' and VehicleCategory = 'T001' and OwnerType = 'T001' and SbiSection not in ('T001', 'NVT', 'ONBK') and Value <> ''"
        )
        .aggregate("SbiSection, sum(Value::int)", "SbiSection")
        .fetchall()
    )
    assert set(sorted(sectors, key=sectors.get)[-3:]) == {"F", "G", "H"}


def test_emission_classes_follow_first_admission(delivery):
    rows = (
        _read(delivery, "T03")
        .filter(
            "Measure = 'M_VEHICLES' and VehicleCategory = 'BEST' and FirstAdmissionYear like 'FA%' and EmissionClass not in ('T001', 'EZ', 'ONBK')"
        )
        .filter("ValueAttribute = 'None' and Value::int > 0")
        .fetchall()
    )
    assert rows
    for row in rows:
        year, euro = int(row[5][2:]), int(row[4][1:])
        assert (euro <= 4 and year <= 2011) or (euro == 5 and 2010 <= year <= 2016) or (euro == 6 and year >= 2015), row


def test_many_occasional_and_few_frequent_visitors(delivery):
    visits = dict(
        _read(delivery, "T06")
        .filter("VehicleCategory = 'T001' and Value <> ''")
        .aggregate("VisitDayClass, sum(Value::int)", "VisitDayClass")
        .fetchall()
    )
    assert visits["D01"] > visits["D02_04"] > visits["D05_09"] > visits["D10_19"] > visits["D20P"] > 0


def test_electric_share_grows_over_time(tmp_path):
    shares = []
    for year in (2024, 2025):
        folder = generate_delivery(GenerateRequest("GM0599", year, 6, seed=4, locations=3), tmp_path / str(year))
        rows = dict(
            duckdb.sql(f"""select FuelType, sum(Value::int) from read_csv('{folder / "T02_Observations.csv"}', all_varchar=true)
                                   where VehicleCategory = 'BEST' and Value <> '' group by 1""").fetchall()
        )
        shares.append(rows["ELEK"] / rows["T001"])
    assert shares[1] > shares[0] * 1.2


def test_foreign_or_unreadable_plates_have_no_register_attributes(delivery):
    leaked = (
        _read(delivery, "T02")
        .filter("VehicleCategory = 'ONBK' and FuelType not in ('ONBK', 'T001') and ValueAttribute <> 'Impossible'")
        .fetchall()
    )
    assert leaked == []


def test_grids_are_complete_with_totals(delivery):
    t01 = _read(delivery, "T01")
    groups = t01.aggregate("Location, Date, Hour, count(*) as n", "Location, Date, Hour").fetchall()
    assert {n for *_, n in groups} == {len(c.VEHICLE_CATEGORIES) + 1}  # every category plus the T001 total


# ---- total combinations (cube or nested) and local clock hours around DST ----


def _total_patterns(folder: Path, code: str) -> dict[str, int]:
    """Per pattern of totals ('D' detail / 'T' total per total dimension, contract order): cells of one measure."""
    table = c.OBSERVATION_TABLES[code]
    dims = total_dimensions(table, 2025)
    pattern = " || ".join(f"case when {d} = 'T001' then 'T' else 'D' end" for d in dims)
    return dict(
        duckdb.sql(f"""select {pattern}, count(*) from read_csv('{folder / table.file}', all_varchar=true)
                               where Measure = '{table.measures[0]}' group by 1""").fetchall()
    )


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> Path:
    return generate_delivery(
        GenerateRequest("GM0344", 2025, 3, seed=3, locations=6, totals="nested"), tmp_path_factory.mktemp("nested")
    )


def test_nested_tables_hold_exactly_the_nested_totals(delivery, nested):
    """T03/T04 nested: detail, the last dimension's total within the others, the middle total within each category,
    the grand total, each over its complete grid; the other tables keep their shape; the cube holds all 8."""
    zones, categories = 2, len(c.VEHICLE_CATEGORIES)
    sizes = {
        "T03": (len(c.EMISSION_CLASSES), len(c.first_admission_years(2025))),
        "T04": (len(c.OWNER_TYPES), len(c.SBI_SECTIONS)),
    }
    for code, (middle, last) in sizes.items():
        assert _total_patterns(nested, code) == {
            "DDD": zones * categories * middle * last,
            "DDT": zones * categories * middle,
            "DTT": zones * categories,
            "TTT": zones,
        }, code
        assert set(_total_patterns(delivery, code)) == {a + b + d for a in "DT" for b in "DT" for d in "DT"}, code
    for code in ("T01", "T02", "T05", "T06"):
        assert _total_patterns(nested, code) == _total_patterns(delivery, code), code


def test_nested_secondary_suppression_protects_every_total_that_exists(nested):
    """No published total (at any level of the nesting) with exactly one confidential part in any dimension."""
    for code in ("T03", "T04"):
        table = c.OBSERVATION_TABLES[code]
        con = duckdb.connect()
        con.execute(f"create table t as select * from read_csv('{nested / table.file}', all_varchar=true)")
        assert con.execute("select count(*) from t where ValueAttribute = 'Confidential'").fetchone()[0] > 0
        for dim in total_dimensions(table, 2025):
            others = ["Measure"] + [d for d in table.dimensions if d != dim]
            exposed = con.execute(f"""
                select {", ".join(others)} from t group by {", ".join(others)}
                having bool_or({dim} = 'T001' and ValueAttribute = 'None')
                   and count(*) filter (where {dim} <> 'T001' and ValueAttribute = 'Confidential') = 1
            """).fetchall()
            assert not exposed, f"{code}: total over {dim} exposes one secret cell in {exposed[:3]}"


def test_same_seed_gives_the_same_bytes_with_nested_totals(tmp_path):
    request = GenerateRequest("GM0363", 2025, 3, seed=9, locations=3, totals="nested")
    first, second = generate_delivery(request, tmp_path / "a"), generate_delivery(request, tmp_path / "b")
    assert {p.name: p.read_bytes() for p in first.iterdir()} == {p.name: p.read_bytes() for p in second.iterdir()}


def test_unknown_totals_option_is_refused(tmp_path):
    with pytest.raises(ValueError, match="totals"):
        generate_delivery(GenerateRequest("GM0344", 2025, 3, locations=3, totals="pyramid"), tmp_path)


def test_spring_dst_hour_is_impossible_everywhere_and_has_no_traffic(delivery):
    """2025-03-30 (last Sunday of March): H02 does not exist; every location and category incl. T001 is Impossible."""
    t01 = duckdb.sql(f"select * from read_csv('{delivery / 'T01_Observations.csv'}', all_varchar=true)")
    gap = (
        t01.filter("Date = '2025-03-30' and Hour = 'H02'")
        .aggregate("ValueAttribute, count(*), count(Value)", "ValueAttribute")
        .fetchall()
    )
    assert gap == [("Impossible", 6 * (len(c.VEHICLE_CATEGORIES) + 1), 0)]
    assert t01.filter("ValueAttribute = 'Impossible' and not (Date = '2025-03-30' and Hour = 'H02')").fetchall() == []


def test_spring_dst_day_has_23_hours_of_traffic_in_both_camera_tables():
    """No traffic is simulated in the skipped hour, and T02's days are the sums of the 23 real hours."""
    from anpr_warehouse.generate import _rng
    from anpr_warehouse.generate.traffic import simulate_month

    request = GenerateRequest("GM0344", 2025, 3, seed=3, locations=6)
    traffic = simulate_month(municipality("GM0344"), 2025, 3, 6, _rng(request))
    con = duckdb.connect()
    con.register("hourly", traffic.hourly)
    con.register("by_fuel", traffic.by_fuel)
    assert con.execute("select sum(passages) from hourly where Date = '2025-03-30' and Hour = 'H02'").fetchone()[0] == 0
    assert con.execute("select sum(passages) from hourly where Date = '2025-03-30'").fetchone()[0] > 0
    mismatched = con.execute("""
        select * from (select Location, Date, sum(passages) as p from hourly group by all) h
        full join (select Location, Date, sum(passages) as p from by_fuel group by all) f using (Location, Date)
        where h.p is distinct from f.p""").fetchall()
    assert mismatched == []


def test_autumn_dst_hour_is_delivered_once_with_both_clock_hours(tmp_path):
    """2025-10-26: H02 appears once per location and category and holds the traffic of two clock hours."""
    folder = generate_delivery(GenerateRequest("GM0363", 2025, 10, seed=1, locations=4), tmp_path)
    per_cell = duckdb.sql(f"""select Location, VehicleCategory, count(*) from read_csv('{folder / "T01_Observations.csv"}', all_varchar=true)
                              where Date = '2025-10-26' and Hour = 'H02' group by all""").fetchall()
    assert len(per_cell) == 4 * (len(c.VEHICLE_CATEGORIES) + 1) and {n for *_, n in per_cell} == {1}
    # counts large enough that Poisson noise is small: H02 of the autumn Sunday is about twice the other Sundays'
    sites = [
        dataclasses.replace(site, daily_volume=site.daily_volume * 200)
        for site in make_sites(municipality("GM0363"), 4, np.random.default_rng(1))[0]
    ]
    dates = month_dates(2025, 10)
    hourly, _, _ = camera_counts(sites, dates, fuel_mix(2025, 10), np.random.default_rng(1))
    sundays = dict(
        duckdb.sql("select Date, sum(passages) from hourly where Hour = 'H02' and isodow(Date::date) = 7 group by 1").fetchall()
    )
    others = [v for d, v in sundays.items() if d != "2025-10-26"]
    assert 1.6 < sundays["2025-10-26"] / (sum(others) / len(others)) < 2.4


def test_legacy_spring_dst_hour_is_written_as_dot(tmp_path):
    """The legacy layout has no Impossible marker: hour 2 of the spring day is '.' in every category column."""
    folder = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=3, locations=3, layout="legacy"), tmp_path)
    hourly = folder / c.legacy_file_name("GM0344", 2025, 3, "passages_per_uur")
    rows = duckdb.sql(
        f"select * from read_csv('{hourly}', delim=';', all_varchar=true) where Datum = '30-03-2025' and Uur = '2'"
    ).fetchall()
    assert len(rows) == 3 and all(set(row[3:]) == {c.LEGACY_SECRET} for row in rows)
