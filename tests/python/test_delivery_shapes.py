"""Valid delivery shapes build: nested totals next to a full cube, and the days daylight saving time changes.

The contract lets CBS choose which total combinations a table holds (only a minimum is required) and
makes `Hour` the local clock hour. A delivery the loader accepts must always build, and the marts must
hold CBS's totals exactly as delivered: none invented from parts, none lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import contract as c

from .cli_support import anpr_ok as anpr
from .cli_support import query

pytestmark = pytest.mark.slow

NESTED = ("GM0344", "2025-03")  # spring DST day 2025-03-30 inside
CUBE = ("GM0363", "2025-10")  # autumn DST day 2025-10-26 inside
LOCATIONS = 4


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, Path]:
    """Both deliveries generated through the CLI, loaded into one warehouse, built with `anpr build`."""
    root = tmp_path_factory.mktemp("shapes")
    folders = {}
    for name, (muni, month), totals in (("nested", NESTED, "nested"), ("cube", CUBE, "cube")):
        out = anpr(
            "generate",
            "--municipality",
            muni,
            "--month",
            month,
            "--locations",
            str(LOCATIONS),
            "--seed",
            "5",
            "--totals",
            totals,
            "--jobs",
            "1",
            "--out",
            str(root / name),
        )
        folders[name] = Path(out.stdout.strip().splitlines()[-1])
    warehouse = root / "warehouse.duckdb"
    anpr("load", str(folders["nested"]), str(folders["cube"]), "--warehouse", str(warehouse))
    anpr("build", "--warehouse", str(warehouse))  # exit 0: every model, data test and unit test passes
    return {**folders, "warehouse": warehouse}


def delivered_totals(folder: Path, code: str) -> list[tuple]:
    """Every cell of a zone table with a T001 in some dimension: its dimensions and both measures as delivered."""
    table = c.OBSERVATION_TABLES[code]
    dims = list(table.dimensions)
    any_total = " or ".join(f"{d} = 'T001'" for d in dims)
    return duckdb.sql(f"""
        select {", ".join(dims)},
            max(try_cast(Value as bigint)) filter (where Measure = 'M_PASSAGES'),
            max(try_cast(Value as bigint)) filter (where Measure = 'M_VEHICLES')
        from read_csv('{folder / table.file}', all_varchar=true)
        where {any_total}
        group by all order by all""").fetchall()


@pytest.mark.parametrize(
    "code, fact, columns",
    [
        ("T03", "fct_emission_profile", "zone_code, vehicle_category_code, emission_class_code, first_admission_year_code"),
        ("T04", "fct_sector_profile", "zone_code, vehicle_category_code, owner_type_code, sbi_section_code"),
    ],
)
def test_marts_hold_the_nested_totals_exactly_as_delivered(shapes, code, fact, columns):
    """No invented totals, none lost: the T001 rows of the fact are the delivery's T001 cells, value for value."""
    delivered = delivered_totals(shapes["nested"], code)
    in_mart = query(
        shapes["warehouse"],
        f"""
        select {columns}, passages, vehicles from marts.{fact}
        where municipality_code = '{NESTED[0]}' and 'T001' in ({columns.split(", ", 1)[1]})
        order by all""",
    )
    assert in_mart == delivered
    assert len(delivered) == 2 * len(c.VEHICLE_CATEGORIES) + 2 + 2 * len(c.VEHICLE_CATEGORIES) * (
        len(c.EMISSION_CLASSES) if code == "T03" else len(c.OWNER_TYPES)
    )  # 2 zones: grand totals, category totals, middle-dimension totals within each category


def test_t001_row_count_of_the_nested_emission_profile_equals_the_file(shapes):
    rows = query(
        shapes["warehouse"],
        f"""
        select count(*) from marts.fct_emission_profile
        where municipality_code = '{NESTED[0]}'
          and (is_vehicle_category_total or is_emission_class_total or is_first_admission_year_total)""",
    )[0][0]
    assert rows == len(delivered_totals(shapes["nested"], "T03"))


def test_spring_dst_hour_is_impossible_in_the_hourly_mart(shapes):
    rows = query(
        shapes["warehouse"],
        f"""
        select cell_status, clock_hours, count(*), count(passages) from marts.fct_passages_hourly
        where municipality_code = '{NESTED[0]}' and passage_date = '2025-03-30' and hour_of_day = 2 group by all""",
    )
    assert rows == [("impossible", 0, LOCATIONS * (len(c.VEHICLE_CATEGORIES) + 1), 0)]


def test_autumn_dst_hour_is_one_row_of_two_clock_hours(shapes):
    rows = query(
        shapes["warehouse"],
        f"""
        select location_code, vehicle_category_code, count(*), min(clock_hours) from marts.fct_passages_hourly
        where municipality_code = '{CUBE[0]}' and passage_date = '2025-10-26' and hour_of_day = 2 group by all""",
    )
    assert len(rows) == LOCATIONS * (len(c.VEHICLE_CATEGORIES) + 1) and {(n, h) for *_, n, h in rows} == {(1, 2)}
    days = dict(
        query(
            shapes["warehouse"],
            """select cast(date_day as varchar), hours_in_day from marts.dim_date
                                            where date_day in ('2025-03-30', '2025-10-26', '2025-10-27')""",
        )
    )
    assert days == {"2025-03-30": 23, "2025-10-26": 25, "2025-10-27": 24}


def test_ze_access_denominator_is_cbs_category_total_in_both_shapes(shapes):
    """The 'total' rows of fct_ze_access are the delivered category totals (T03 has them nested and in the cube)."""
    for name, (muni, _) in (("nested", NESTED), ("cube", CUBE)):
        delivered = {
            (zone, category): passages
            for zone, category, emission, admission, passages, _ in delivered_totals(shapes[name], "T03")
            if category != "T001" and emission == "T001" and admission == "T001"
        }
        in_mart = dict(
            ((zone, category), (passages, cells))
            for zone, category, passages, cells in query(
                shapes["warehouse"],
                f"""
            select zone_code, vehicle_category_code, passages, detail_cells from marts.fct_ze_access
            where municipality_code = '{muni}' and scenario = 'current' and access_status = 'total'""",
            )
        )
        assert in_mart == {key: (value, 1) for key, value in delivered.items()}, name


def test_emission_class_metric_works_where_class_totals_exist_only_within_categories(shapes):
    """`emission_class_passages` for the nested delivery adds the class totals of each category (CBS has no
    all-category class total there): exact where none is confidential, otherwise a marked lower bound."""
    out = anpr(
        "metrics",
        "query",
        "--metrics",
        "emission_class_passages",
        "--group-by",
        "emission_class",
        "municipality",
        "--warehouse",
        str(shapes["warehouse"]),
        "--format",
        "json",
    )
    answers = {(r["municipality"], r["emission_class"]): r["emission_class_passages"] for r in json.loads(out.stdout)["rows"]}
    cells = [
        row for row in delivered_totals(shapes["nested"], "T03") if row[1] != "T001" and row[2] != "T001" and row[3] == "T001"
    ]
    attributes = dict(
        duckdb.sql(f"""
        select Zone || VehicleCategory || EmissionClass, ValueAttribute from read_csv('{shapes["nested"] / "T03_Observations.csv"}', all_varchar=true)
        where Measure = 'M_PASSAGES' and VehicleCategory <> 'T001' and EmissionClass <> 'T001' and FirstAdmissionYear = 'T001'""").fetchall()
    )
    assert {m for m, _ in answers} == {NESTED[0], CUBE[0]}
    for emission_class in c.EMISSION_CLASSES:
        mine = [row for row in cells if row[2] == emission_class]
        hidden = sum(attributes[z + k + e] == "Confidential" for z, k, e, *_ in mine)
        answer = answers[(NESTED[0], emission_class)]
        published = [row[4] for row in mine if row[4] is not None]
        assert answer["value"] == (sum(published) if published else None), emission_class
        assert answer["confidential_cells"] == hidden and answer["complete"] == (hidden == 0), emission_class
    assert any(not a["complete"] for (m, _), a in answers.items() if m == NESTED[0])  # lower bounds are marked
