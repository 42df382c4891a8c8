"""A table's full cell grid (detail cells and T001 totals) as numpy arrays, for `sdc`'s suppression rules.

Why numpy and not DuckDB: a table is a dense cube over its dimensions (shape = the lengths of its code
lists, T001 included), so a row or column of it is an axis, and each rule of `sdc` is a few whole-array
operations instead of a window query joined back to a table of text keys. A 40-location month holds about
350,000 cells; in SQL the grids and rules cost about 1.2 CPU s, most of it sorting and joining on text.

Each axis holds its identifiers in text order (T001 where it sorts), so the grid in C order is the SQL
`order by` of the table's dimensions: the position of a cell among the cells the table holds is its
`cell_id` - 1, and the observations' line order follows from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import prod

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import contract as c

FA_YEAR_SQL = "case when FirstAdmissionYear like 'FA%' then substr(FirstAdmissionYear, 3)::integer end"


@dataclass
class CellGrid:
    """One table's cells: a dense cube over `dims`; `held` marks the cells the table holds (all, unless nested)."""

    code: str
    dims: tuple[str, ...]
    labels: list[list[str]]  # per axis, the identifiers in text order (T001 included for total dimensions)
    totals: list[str]  # the dimensions with a T001 total
    held: np.ndarray  # bool; a cell not held is not in the table (a total combination a nested table lacks)
    passages: np.ndarray  # int64
    vehicles: np.ndarray  # int64, 0 in the camera tables
    n_distinct: np.ndarray  # int64
    impossible: np.ndarray  # bool, may be a broadcast (read-only) view
    unknown_vehicles: np.ndarray  # bool, may be a broadcast (read-only) view
    suppressed: np.ndarray  # bool; only ever True where held

    @property
    def shape(self) -> tuple[int, ...]:
        return self.held.shape

    def axis(self, dim: str) -> int:
        return self.dims.index(dim)

    def total_at(self, dim: str) -> int:
        """The position of T001 along the dimension's axis."""
        return self.labels[self.axis(dim)].index(c.TOTAL)

    def n_suppressed(self) -> int:
        return int(np.count_nonzero(self.suppressed))


def axis_labels(dims: list[str], totals: list[str], grid: dict[str, list[str]]) -> list[list[str]]:
    """Each dimension's identifiers (and T001 where it has a total) in text order: DuckDB's binary collation
    of varchar is byte order, which for UTF-8 is Python's code-point order."""
    return [sorted(grid[d] + ([c.TOTAL] if d in totals else [])) for d in dims]


class Sources:
    """The source relations a delivery's tables are counted from, each read from DuckDB once.

    T03-T06 count the same vehicles: the relation is read once (only the columns some table needs) and each
    column's codes along an axis are looked up once (Zone and VehicleCategory serve all four tables).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: dict[str, set[str]]):
        self._con = con
        self._columns = columns  # source relation -> the columns its tables need
        self._tables: dict[str, pa.Table] = {}
        self._codes: dict[tuple[str, str, tuple[str, ...]], np.ndarray] = {}

    def column(self, source: str, name: str) -> pa.ChunkedArray:
        if source not in self._tables:
            wanted = ", ".join(sorted(self._columns[source]))
            self._tables[source] = self._con.sql(f"select {wanted} from {source}").to_arrow_table()
        return self._tables[source][name]

    def codes(self, source: str, dim: str, labels: list[str]) -> np.ndarray:
        """Each row's position along the axis `labels`. Every row must fall on a detail cell of the grid: a
        value outside the code list (or T001, or null) would make the SQL's totals count rows its detail
        cells do not show, so it is refused."""
        key = (source, dim, tuple(labels))
        if key not in self._codes:
            if len(set(labels)) != len(labels):
                raise ValueError(f"the {dim} code list names an identifier twice")
            index = pc.index_in(self.column(source, dim), value_set=pa.array(labels, type=pa.string()))
            codes = index.to_numpy(zero_copy_only=False)
            if index.null_count or (c.TOTAL in labels and np.any(codes == labels.index(c.TOTAL))):
                raise ValueError(f"a {dim} value of {source} is not an identifier of its code list")
            self._codes[key] = codes.astype(np.int64)
        return self._codes[key]


def detail_counts(sources: Sources, source: str, dims: list[str], labels: list[list[str]], from_vehicles: bool):
    """(passages, vehicles, n_distinct) of every detail cell, zero at the T001 positions."""
    shape = tuple(len(axis) for axis in labels)
    flat = np.zeros(len(sources.column(source, "passages")), dtype=np.int64)
    for dim, axis in zip(dims, labels):
        flat = flat * len(axis) + sources.codes(source, dim, axis)
    size = prod(shape)

    def cube(weights: str | None) -> np.ndarray:
        counted = None if weights is None else _counts(sources.column(source, weights), source, weights)
        return np.bincount(flat, weights=counted, minlength=size).astype(np.int64).reshape(shape)

    passages = cube("passages")
    if from_vehicles:
        vehicles = cube(None)
        return passages, vehicles, vehicles.copy()
    return passages, np.zeros(shape, dtype=np.int64), cube("n_distinct")


def _counts(column, source: str, name: str) -> np.ndarray:
    """A count column as float64 weights; a missing or negative count is refused.

    Why: the SQL summed past nulls, a NaN weight would turn a cell into INT64_MIN, and the sweeps' sort keys
    and the rounding (half away from zero) assume counts >= 0, which the simulation always gives.
    """
    if column.null_count or (len(column) and pc.min(column).as_py() < 0):
        raise ValueError(f"a {name} count of {source} is missing or negative")
    return column.to_numpy().astype(np.float64)


def fill_totals(arrays: list[np.ndarray], dims: list[str], labels: list[list[str]], totals: list[str]) -> None:
    """Every T001 cell the sum of its detail cells, dimension by dimension (in place).

    Along the dimension being filled the T001 slice is still zero, so a plain sum along the axis is the sum of
    the detail; the totals filled before are summed with it, which makes the full cube of totals.
    """
    for dim in totals:
        axis = dims.index(dim)
        at = [slice(None)] * len(dims)
        at[axis] = labels[axis].index(c.TOTAL)
        for array in arrays:
            array[tuple(at)] = array.sum(axis=axis)


def is_total(dims: list[str], labels: list[list[str]], dim: str) -> np.ndarray:
    """Broadcastable bool: the cell's identifier along `dim` is T001."""
    axis = dims.index(dim)
    flags = np.array([label == c.TOTAL for label in labels[axis]])
    return flags.reshape([-1 if i == axis else 1 for i in range(len(dims))])


def held_cells(dims: list[str], labels: list[list[str]], totals: list[str], held: list[tuple[str, ...]]) -> np.ndarray:
    """The cells whose pattern of totals (which total dimensions are T001) is one of the `held` combinations."""
    shape = tuple(len(axis) for axis in labels)
    if len(held) == 2 ** len(totals):
        return np.ones(shape, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    for kept in held:
        pattern = np.ones((1,) * len(dims), dtype=bool)
        for dim in totals:
            total = is_total(dims, labels, dim)
            pattern = pattern & (~total if dim in kept else total)
        mask |= pattern
    return mask


def predicate(con: duckdb.DuckDBPyConnection, sql: str, dims: list[str], labels: list[list[str]]) -> np.ndarray:
    """A SQL predicate on the cell's identifiers (e.g. `sdc.IMPOSSIBLE`), evaluated in DuckDB as before.

    Only on the product of the identifiers of the dimensions it names (a T01 predicate on Hour and Date: 744
    rows, not 240,000); the result has length 1 along the other axes and broadcasts over them. A predicate
    naming anything else fails in DuckDB, loudly.
    """
    ndim = len(dims)
    if sql.strip().lower() == "false":
        return np.zeros((1,) * ndim, dtype=bool)
    named = [i for i, d in enumerate(dims) if re.search(rf"\b{d}\b", sql) or (d == "FirstAdmissionYear" and "fa_year" in sql)]
    shape = tuple(len(labels[i]) if i in named else 1 for i in range(ndim))
    index = np.indices(shape).reshape(ndim, -1)
    columns = {dims[i]: pa.array(labels[i], type=pa.string()).take(pa.array(index[i])) for i in named}
    columns["cell"] = pa.array(np.arange(index.shape[1], dtype=np.int64))
    fa_year = FA_YEAR_SQL if "FirstAdmissionYear" in columns else "null"
    con.register("sdc_predicate_grid", pa.table(columns))
    try:
        got = con.execute(
            f"""with g as (select *, {fa_year} as fa_year from sdc_predicate_grid)
                select cell, coalesce(({sql}), false) as hit from g order by cell"""
        ).fetchnumpy()
    finally:
        con.unregister("sdc_predicate_grid")
    return np.asarray(got["hit"], dtype=bool).reshape(shape)


def build_grid(
    con: duckdb.DuckDBPyConnection,
    code: str,
    dims: list[str],
    totals: list[str],
    held: list[tuple[str, ...]],
    grid: dict[str, list[str]],
    sources: Sources,
    source: str,
    from_vehicles: bool,
    impossible_sql: str,
    unknown_vehicles_sql: str,
) -> CellGrid:
    """The table's cells from its source rows: detail sums, every total, the cells it holds, their status."""
    labels = axis_labels(dims, totals, grid)
    counts = list(detail_counts(sources, source, dims, labels, from_vehicles))
    fill_totals(counts, dims, labels, totals)
    mask = held_cells(dims, labels, totals, held)
    passages, vehicles, n_distinct = (np.where(mask, array, 0) for array in counts)
    shape = mask.shape
    return CellGrid(
        code,
        tuple(dims),
        labels,
        list(totals),
        mask,
        passages,
        vehicles,
        n_distinct,
        np.broadcast_to(predicate(con, impossible_sql, dims, labels), shape),
        np.broadcast_to(predicate(con, unknown_vehicles_sql, dims, labels), shape),
        np.zeros(shape, dtype=bool),
    )


def _dimension_columns(cells: CellGrid, flat: np.ndarray) -> dict[str, pa.Array]:
    """The text identifiers of the cells at the given flat positions, one Arrow column per dimension."""
    index = np.unravel_index(flat, cells.shape)
    return {
        dim: pa.DictionaryArray.from_arrays(index[i].astype(np.int32), pa.array(labels, type=pa.string()))
        for i, (dim, labels) in enumerate(zip(cells.dims, cells.labels))
    }


def cells_table(cells: CellGrid) -> pa.Table:
    """The cells the table holds, in `cell_id` order, with the columns the SQL grid had (`cells_<code>`)."""
    flat = np.flatnonzero(cells.held)
    columns: dict[str, pa.Array] = {"cell_id": pa.array(np.arange(1, len(flat) + 1, dtype=np.int64))}
    columns.update(_dimension_columns(cells, flat))
    for name in ("passages", "vehicles", "n_distinct", "impossible", "unknown_vehicles", "suppressed"):
        columns[name] = pa.array(np.ascontiguousarray(getattr(cells, name)).reshape(-1)[flat])
    return pa.table(columns)


ATTRIBUTES = ("None", "Confidential", "Unknown", "Impossible")


def observations_table(cells: CellGrid, measures: tuple[str, ...], rounding_base: int) -> pa.Table:
    """Long-form observations: per held cell in `cell_id` order, one line per measure (in text order).

    Value: the count rounded half away from zero to a multiple of `rounding_base` (as DuckDB's `round` of
    the exact quotient), null where the cell is Impossible, Unknown (vehicles only) or Confidential.
    """
    flat = np.flatnonzero(cells.held)
    measures = tuple(sorted(measures))
    n, m = len(flat), len(measures)
    impossible = np.ascontiguousarray(cells.impossible).reshape(-1)[flat]
    unknown = np.ascontiguousarray(cells.unknown_vehicles).reshape(-1)[flat]
    suppressed = cells.suppressed.reshape(-1)[flat]
    values = np.empty((n, m), dtype=np.int64)
    attribute = np.empty((n, m), dtype=np.int64)
    for j, measure in enumerate(measures):
        count = (cells.passages if measure == "M_PASSAGES" else cells.vehicles).reshape(-1)[flat]
        values[:, j] = (2 * count + rounding_base) // (2 * rounding_base) * rounding_base
        unknown_here = unknown if measure == "M_VEHICLES" else np.zeros(n, dtype=bool)
        attribute[:, j] = np.select([impossible, unknown_here, suppressed], [3, 2, 1], 0)
    rows = np.repeat(flat, m)
    columns: dict[str, pa.Array] = {
        "Id": pa.array(np.arange(1, n * m + 1, dtype=np.int64)),
        "Measure": pa.array(measures, type=pa.string()).take(pa.array(np.tile(np.arange(m, dtype=np.int64), n))),
    }
    columns.update(_dimension_columns(cells, rows))
    attribute = attribute.reshape(-1)
    columns["Value"] = pa.array(values.reshape(-1), mask=attribute != 0)
    columns["ValueAttribute"] = pa.array(ATTRIBUTES, type=pa.string()).take(pa.array(attribute))
    return pa.table(columns)


def register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """`table` as a DuckDB view `name` (no copy; for what is only read, such as the `cells_<code>` grids)."""
    con.register(name, table)


def materialize(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """`table` as a DuckDB temp table `name` (a real table: the audit pass updates the observations)."""
    con.register("sdc_arrow_rows", table)
    try:
        con.execute(f"create or replace temp table {name} as select * from sdc_arrow_rows")
    finally:
        con.unregister("sdc_arrow_rows")
