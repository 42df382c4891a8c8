"""The generator's suppression on numpy cubes (`sdc`, `cell_grid`) gives exactly what its SQL gave.

The numpy path replaced DuckDB statements for speed; the deliveries must stay byte for byte the same, so
it is checked cell for cell against the SQL (`sdc_sql_oracle`) on real generated months: every grid
cell with its true counts and status (`cells_<code>`), and every observation line (`obs_<code>`).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.generate import GenerateRequest, protected_observations, sdc
from anpr_warehouse.generate.cell_grid import CellGrid, cells_table, materialize, observations_table

from . import sdc_sql_oracle

MONTHS = {
    "spring-dst": GenerateRequest("GM0344", 2025, 3, seed=1, locations=3, protection="linked"),
    "autumn-dst-12loc": GenerateRequest("GM0344", 2025, 10, seed=1, locations=12, protection="linked"),
    "nested": GenerateRequest("GM0363", 2025, 6, seed=7, locations=3, totals="nested", protection="linked"),
    "table-by-table": GenerateRequest("GM0344", 2025, 4, seed=3, locations=3, protection="table"),
    "mc15-rb10": GenerateRequest("GM0344", 2025, 5, seed=2, locations=4, min_cell=15, rounding_base=10, protection="linked"),
    "correction": GenerateRequest("GM0344", 2025, 3, seed=1, locations=3, version=2, protection="linked"),
    "legacy": GenerateRequest("GM0599", 2025, 2, seed=5, locations=3, layout="legacy", protection="linked"),
}


def _protected(request: GenerateRequest, protect_tables) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    con = duckdb.connect()
    con.execute("set threads = 1")
    original = sdc.protect_tables
    sdc.protect_tables = protect_tables
    try:
        _, observations = protected_observations(con, request)
    finally:
        sdc.protect_tables = original
    return con, observations


@pytest.mark.parametrize("name", list(MONTHS))
def test_numpy_rules_give_the_sql_cells_and_observations(name):
    request = MONTHS[name]
    sql_con, sql_obs = _protected(request, sdc_sql_oracle.protect_tables)
    new_con, new_obs = _protected(request, sdc.protect_tables)
    assert new_obs == sql_obs
    confidential = 0
    for code, relation in sql_obs.items():
        for name_ in (relation, f"cells_{code}"):
            want = sql_con.sql(f"select * from {name_}").to_arrow_table()
            got = new_con.sql(f"select * from {name_}").to_arrow_table()
            assert got.schema == want.schema, f"{name_}: {got.schema} != {want.schema}"
            for column in want.column_names:
                assert got[column].equals(want[column]), f"{name_}.{column} differs"
        confidential += sql_con.execute(f"select count(*) from {relation} where ValueAttribute = 'Confidential'").fetchall()[0][0]
    assert confidential > 0  # the comparison covers secondary suppression, not only empty grids


def _row(n_distinct: list[int]) -> CellGrid:
    """One location's categories BEST, BUSS, T001, TREK (text order) with the given counts (passages = distinct)."""
    counts = np.array([n_distinct], dtype=np.int64)
    return CellGrid(
        "T",
        ("Location", "VehicleCategory"),
        [["L1"], ["BEST", "BUSS", c.TOTAL, "TREK"]],
        ["VehicleCategory"],
        np.ones(counts.shape, dtype=bool),
        counts.copy(),
        np.zeros(counts.shape, dtype=np.int64),
        counts.copy(),
        np.zeros(counts.shape, dtype=bool),
        np.zeros(counts.shape, dtype=bool),
        np.zeros(counts.shape, dtype=bool),
    )


@pytest.mark.parametrize(
    ("n_distinct", "secret"),
    [
        ([3, 20, 43, 20], [True, True, False, False]),  # a tie on distinct vehicles: the identifier first in text order
        ([3, 21, 44, 20], [True, False, False, True]),  # otherwise the fewest distinct vehicles
        ([3, 40, 43, 0], [True, True, False, False]),  # a published non-zero cell before a 0, whatever their counts
        ([3, 0, 13, 0], [True, True, False, False]),  # only zeros left: the first 0 in text order
        ([3, 0, 3, 0], [True, False, True, False]),  # the total secret too: nothing exposed
        ([3, 4, 17, 10], [True, True, False, True]),  # two secrets of too little mass: one more
    ],
)
def test_sweep_picks_the_partner_the_sql_picks(n_distinct, secret):
    cells = _row(n_distinct)
    sdc.primary(cells, 10)
    sdc._secondary_sweep(cells, 10, cells.passages)
    assert cells.suppressed[0].tolist() == secret
    con = duckdb.connect()  # the SQL on the same row
    materialize(con, "cells", cells_table(_row(n_distinct)))
    sdc_sql_oracle.primary(con, "cells", 10)
    sdc_sql_oracle._secondary_sweep(con, "cells", list(cells.dims), cells.totals, 10, "passages")
    assert [row[0] for row in con.execute("select suppressed from cells order by cell_id").fetchall()] == secret


def test_published_values_round_half_away_from_zero_and_statuses_take_precedence():
    counts = np.array([[5, 15, 25, 14, 44]], dtype=np.int64)
    shape = counts.shape
    cells = CellGrid(
        "T",
        ("Zone", "VehicleCategory"),
        [["Z1"], ["A", "B", "C", "D", c.TOTAL]],
        ["VehicleCategory"],
        np.ones(shape, dtype=bool),
        counts,
        counts,
        counts,
        np.array([[False, False, False, True, False]]),  # D impossible
        np.array([[False, False, True, True, False]]),  # C and D: vehicles unknown
        np.array([[False, False, True, True, False]]),  # C and D suppressed
    )
    table = observations_table(cells, ("M_VEHICLES", "M_PASSAGES"), 10)
    assert table["Id"].to_pylist() == list(range(1, 11))
    assert table["Measure"].to_pylist()[:2] == ["M_PASSAGES", "M_VEHICLES"]
    assert table["VehicleCategory"].to_pylist() == ["A", "A", "B", "B", "C", "C", "D", "D", c.TOTAL, c.TOTAL]
    assert table["Value"].to_pylist() == [10, 10, 20, 20, None, None, None, None, 40, 40]
    assert table["ValueAttribute"].to_pylist() == [
        *("None", "None", "None", "None"),
        *("Confidential", "Unknown", "Impossible", "Impossible"),
        *("None", "None"),
    ]


def _build_t06(categories: list[str], passages: list, zones: tuple[str, ...] = ("Z1",)) -> None:
    """T06's cell grid from a two-row vehicle source (the tests below hand it what the generator never writes)."""
    con = duckdb.connect()
    con.register(
        "bad_source",
        pa.table(
            {
                "Zone": ["Z1", "Z1"],
                "VehicleCategory": categories,
                "VisitDayClass": ["D01", "D01"],
                "passages": pa.array(passages, type=pa.int64()),
            }
        ),
    )
    spec = sdc.TableSpec(c.OBSERVATION_TABLES["T06"], "bad_source", from_vehicles=True)
    grid = {"Zone": list(zones), "VehicleCategory": list(c.VEHICLE_CATEGORIES), "VisitDayClass": list(c.VISIT_DAY_CLASSES)}
    sdc.build_cells(con, spec, grid, 2025)


def test_a_source_value_outside_the_code_list_is_refused():
    with pytest.raises(ValueError, match="VehicleCategory value of bad_source"):
        _build_t06(["BEST", "XXXX"], [3, 4])


@pytest.mark.parametrize("passages", [[3, None], [3, -4]])
def test_a_missing_or_negative_count_is_refused(passages):
    """Review finding: a null count became INT64_MIN in the cube (the SQL summed past it), a negative one broke
    the sweeps' sort keys and the rounding; the simulation never writes either, so both are refused."""
    with pytest.raises(ValueError, match="passages count of bad_source is missing or negative"):
        _build_t06(["BEST", "BEST"], passages)


def test_a_code_list_naming_an_identifier_twice_is_refused():
    """Review finding: rows went to the first copy of a repeated identifier and the second read 0."""
    with pytest.raises(ValueError, match="Zone code list names an identifier twice"):
        _build_t06(["BEST", "BEST"], [3, 4], zones=("Z1", "Z1"))
