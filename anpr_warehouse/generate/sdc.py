"""Statistical disclosure control as CBS applies it to a delivery.

Works on the full cell grid of each table (detail cells plus T001 totals, a
numpy cube per table: `cell_grid`; the predicates on identifiers and the
observations stay DuckDB's): primary suppression of cells with fewer than `min_cell` distinct
vehicles, secondary suppression until no secret cell can be derived from a
published total in its row or column, then rounding of every published value.
Zero cells (no vehicle at all) are published as 0: they describe nobody.

CBS protects each table on its own; `suppress_linked` also protects what the tables
give away together (T01's hours add up to T02's fuel total, T03-T06 share their
zone-category totals) and applies the protection-level rule, so that `anpr audit`
finds (next to) nothing at risk; `audit_pass` then hides what it still finds.

Which total combinations a table holds is CBS's choice: the full cube (a total
for every combination of dimensions) or a nested set (each dimension's total
only within the detail of the dimensions before it, down to the grand total).
Suppression protects whichever totals exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import duckdb
import numpy as np

from .. import contract as c
from ..audit.constraints import ZONE_TABLES
from .cell_grid import CellGrid, Sources, build_grid, cells_table, materialize, observations_table, register


@dataclass(frozen=True)
class TableSpec:
    """How to turn a source relation into the protected observations of one table."""

    table: c.ObservationTable
    source: str  # name of a registered relation
    from_vehicles: bool  # True: one row per vehicle; False: detail cells with passages/distinct
    impossible_sql: str = "false"
    unknown_vehicles_sql: str = "false"
    nested: bool = False  # True: only the nested totals (see `total_sets`), else the full cube


TOTALS = ("cube", "nested")
NESTED_TABLES = ("T03", "T04")  # the tables CBS often delivers with nested totals

IMPOSSIBLE = {
    "T02": "VehicleCategory = 'ONBK' and FuelType not in ('ONBK', 'T001')",
    "T03": (
        "(VehicleCategory = 'ONBK' and (EmissionClass not in ('ONBK', 'T001') or FirstAdmissionYear not in ('ONBK', 'T001')))"
        " or (EmissionClass in ('E0', 'E1', 'E2', 'E3', 'E4') and fa_year >= 2018)"
        " or (EmissionClass = 'E6' and fa_year < 2012)"
        " or (EmissionClass = 'E5' and (fa_year < 2008 or fa_year >= 2020))"
    ),
    "T04": (
        "(VehicleCategory = 'ONBK' and OwnerType not in ('ONBK', 'T001'))"
        " or (OwnerType = 'PART' and SbiSection not in ('NVT', 'T001'))"
        " or (OwnerType in ('BEDR', 'LEAS') and SbiSection = 'NVT')"
        " or (OwnerType = 'ONBK' and SbiSection not in ('ONBK', 'T001'))"
    ),
    "T05": "VehicleCategory = 'ONBK' and OwnerRegion not in ('BUITENLAND', 'ONBK', 'T001')",
}
UNKNOWN_VEHICLES = {"T06": "VehicleCategory = 'ONBK'"}


def total_dimensions(table: c.ObservationTable, period_year: int) -> list[str]:
    lists = c.code_lists(period_year)
    return [d for d in table.dimensions if d in c.DIMENSION_CODE_LIST and lists[c.DIMENSION_CODE_LIST[d]].has_total]


def total_sets(totals: list[str], nested: bool) -> list[tuple[str, ...]]:
    """The total dimensions kept as detail in each combination of totals the table holds.

    Cube: every subset. Nested: the prefixes of `totals` in contract order, e.g. for T03
    (VehicleCategory, EmissionClass, FirstAdmissionYear): the detail cells, the first-admission-year
    total within each emission class, the emission-class total within each category, the grand total.
    """
    if nested:
        return [tuple(totals[:k]) for k in range(len(totals), -1, -1)]
    return [kept for k in range(len(totals) + 1) for kept in combinations(totals, k)]


def build_cells(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    grid: dict[str, list[str]],
    period_year: int,
    sources: Sources | None = None,
) -> CellGrid:
    """Aggregate the source to every detail and total cell of the table's grid (full cube or nested).

    `sources`: the source relations, read once for all tables (`source_reader`); by default read for this one.
    """
    if sources is None:
        sources = source_reader(con, [spec])
    totals = total_dimensions(spec.table, period_year)
    return build_grid(
        con,
        spec.table.code,
        list(spec.table.dimensions),
        totals,
        total_sets(totals, spec.nested),
        grid,
        sources,
        spec.source,
        spec.from_vehicles,
        spec.impossible_sql,
        spec.unknown_vehicles_sql,
    )


def source_reader(con: duckdb.DuckDBPyConnection, specs: list[TableSpec]) -> Sources:
    """Reads each source relation once, with the columns the tables counted from it need."""
    columns: dict[str, set[str]] = {}
    for spec in specs:
        counts = {"passages"} if spec.from_vehicles else {"passages", "n_distinct"}
        columns.setdefault(spec.source, set()).update(set(spec.table.dimensions) | counts)
    return Sources(con, columns)


def primary(cells: CellGrid, min_cell: int) -> None:
    """Cells with 1..min_cell-1 distinct vehicles; also any cell with passages but fewer than min_cell vehicles.

    The contract's min-cell rule lets a reader infer that a published non-zero cell counts at least
    `min_cell` vehicles, so a cell with passages must never be published below that, whatever its count
    of distinct vehicles says (a camera cell of repeat passages can count 0 distinct vehicles).
    """
    n = cells.n_distinct
    cells.suppressed |= (
        cells.held & ~cells.impossible & (((n >= 1) & (n <= min_cell - 1)) | ((cells.passages > 0) & (n < min_cell)))
    )


def _along(axis: int, ndim: int, values) -> np.ndarray:
    """A 1-d array laid along `axis` of an `ndim`-dimensional grid (broadcastable)."""
    return np.asarray(values).reshape([-1 if i == axis else 1 for i in range(ndim)])


def _first(candidates: np.ndarray, order: list[np.ndarray], axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line along `axis`: whether it has a candidate, and the position of its first in `order` (lexicographic).

    The keys are packed into one int64 (each key non-negative and bounded), the last key the position along
    the axis, so ties end as the SQL's `order by ..., <dimension>` ends them.
    """
    key = np.zeros(candidates.shape, dtype=np.int64)
    room = 1
    for part in reversed(order):
        part = np.broadcast_to(part, candidates.shape)
        top = int(part.max(initial=0)) + 1
        key = key + part.astype(np.int64) * room
        room *= top
        if room >= 2**62:
            raise OverflowError("sweep keys too large to pack")
    key = np.where(candidates, key, np.iinfo(np.int64).max)
    return candidates.any(axis=axis), key.argmin(axis=axis)


def _suppress_at(cells: CellGrid, axis: int, lines: np.ndarray, position: np.ndarray) -> None:
    """Suppress, in each line along `axis` where `lines` is true, the cell at `position` (a position per line)."""
    at = np.expand_dims(position, axis)
    hit = np.take_along_axis(cells.suppressed, at, axis) | np.expand_dims(lines, axis)
    np.put_along_axis(cells.suppressed, at, hit, axis)


def _secondary_sweep(cells: CellGrid, min_cell: int, mass: np.ndarray, careful: bool = True) -> None:
    """One sweep over the table's total dimensions: protects every row whose total is published.

    A row is exposed when its published total leaves one secret cell (differencing), or several whose
    hidden mass (their true `mass` summed) is below `min_cell`: then every secret cell of it lies in a range
    narrower than `min_cell` (the protection-level rule); or the reverse, a secret total whose cells are
    all published (their rounded sum pins it down). An exposed row gets its smallest published non-zero
    cell suppressed too (a 0 only as a second secret; ties: fewest distinct vehicles, then the identifier
    in text order); when none is left, its total. The dimensions are swept one after the other, each
    seeing what the one before suppressed.
    `careful=False` is the plain rule a table-by-table office applies: only the one-secret rows.
    """
    ndim = len(cells.dims)
    for dim in cells.totals:
        axis, total = cells.axis(dim), cells.total_at(dim)
        detail = cells.held & _along(axis, ndim, np.arange(cells.shape[axis]) != total)
        secret = detail & cells.suppressed
        n_secret = np.count_nonzero(secret, axis=axis)
        hidden = np.where(secret, mass, 0).sum(axis=axis)
        total_held = np.take(cells.held, total, axis=axis)
        total_secret = total_held & np.take(cells.suppressed, total, axis=axis)
        total_published = total_held & ~total_secret
        exposed = total_published & ((n_secret == 1) | (careful & (n_secret > 1) & (hidden < min_cell)))
        if careful:
            exposed |= total_secret & (n_secret == 0)
        if not exposed.any():
            continue
        empty = cells.passages + cells.vehicles == 0
        candidates = (
            detail
            & ~cells.suppressed
            & ~cells.impossible
            & np.expand_dims(exposed, axis)
            & (np.expand_dims(n_secret == 1, axis) | ~empty)
        )
        found, first = _first(candidates, [empty, cells.n_distinct, _along(axis, ndim, np.arange(cells.shape[axis]))], axis)
        _suppress_at(cells, axis, exposed & found, first)
        lonely = exposed & ~found & total_held
        _suppress_at(cells, axis, lonely, np.full(lonely.shape, total))


HOURS_DIMS = ("Location", "Date", "Hour", "VehicleCategory")
FUEL_DIMS = ("Location", "Date", "VehicleCategory", "FuelType")


def _hours_link_sweep(t01: CellGrid, t02: CellGrid, min_cell: int) -> None:
    """T01's hours of a location, date and category add up to T02's fuel total for it: protect that row too.

    T02's cell (FuelType T001) acts as the total of T01's Hour dimension, which has none of its own.
    Exposed as in `_secondary_sweep` (a published T02 cell leaving one secret hour, or secret hours of too
    little mass), or the reverse: a secret T02 cell whose every hour is published. Suppresses the smallest
    published non-zero hour (ties: the earliest); the T02 cell too when no such hour is left after that
    (so also when the row had just one).
    """
    if t01.dims != HOURS_DIMS or t02.dims != FUEL_DIMS or t01.labels[:2] + t01.labels[3:] != t02.labels[:3]:
        raise ValueError("T01 and T02 do not share their locations, dates and categories")
    hour = t01.axis("Hour")
    secret = t01.held & t01.suppressed
    n_secret = np.count_nonzero(secret, axis=hour)
    hidden = np.where(secret, t01.passages, 0).sum(axis=hour)
    fuel_total = t02.total_at("FuelType")
    total_held = t02.held[..., fuel_total] & t01.held.any(axis=hour)
    total_secret = t02.suppressed[..., fuel_total]
    total_passages = t02.passages[..., fuel_total]
    exposed = total_held & (
        (~total_secret & ((n_secret == 1) | ((n_secret > 1) & (hidden < min_cell))))
        | (total_secret & (n_secret == 0) & (total_passages > 0))
    )
    if not exposed.any():
        return
    candidates = t01.held & ~t01.suppressed & ~t01.impossible & (t01.passages > 0) & np.expand_dims(exposed, hour)
    found, first = _first(candidates, [t01.passages, _along(hour, 4, np.arange(t01.shape[hour]))], hour)
    _suppress_at(t01, hour, exposed & found, first)
    last_one = np.count_nonzero(candidates, axis=hour) <= 1  # after the pick, no published non-zero hour is left
    t02.suppressed[..., fuel_total] |= exposed & ~total_secret & last_one


def _shared_zone_cells(cells: CellGrid) -> tuple[tuple, tuple[int, int]] | None:
    """The index of the cells T03-T06 share (every dimension but Zone and VehicleCategory at T001), and the
    axes of Zone and VehicleCategory in what that index selects; None if a breakdown has no T001."""
    index: list = []
    for dim, labels in zip(cells.dims, cells.labels):
        if dim in ("Zone", "VehicleCategory"):
            index.append(slice(None))
        elif c.TOTAL in labels:
            index.append(labels.index(c.TOTAL))
        else:
            return None
    kept = [d for d in cells.dims if d in ("Zone", "VehicleCategory")]
    return tuple(index), (kept.index("Zone"), kept.index("VehicleCategory"))


def _zone_link_sweep(zone_tables: list[CellGrid]) -> None:
    """T03-T06 publish the same zone-category totals: a total secret in one table is made secret in all."""
    if len(zone_tables) < 2:
        return
    shared = [(cells, _shared_zone_cells(cells)) for cells in zone_tables]
    shared = [(cells, found) for cells, found in shared if found is not None]
    if not shared:
        return
    first = shared[0][0]
    secret = np.zeros((len(first.labels[first.axis("Zone")]), len(first.labels[first.axis("VehicleCategory")])), dtype=bool)
    for cells, (index, axes) in shared:
        if (
            cells.labels[cells.axis("Zone")] != first.labels[first.axis("Zone")]
            or cells.labels[cells.axis("VehicleCategory")] != first.labels[first.axis("VehicleCategory")]
        ):
            raise ValueError("the zone tables do not share their zones and categories")
        secret |= np.transpose((cells.suppressed & cells.held)[index], axes)
    for cells, (index, axes) in shared:
        inverse = np.argsort(axes)
        hide = np.transpose(secret, inverse) & cells.held[index] & ~cells.impossible[index]
        cells.suppressed[index] |= hide


@dataclass(frozen=True)
class BuiltTable:
    """A table's cell grid and what its suppression needs."""

    code: str
    cells: CellGrid  # its dimensions and total dimensions: `cells.dims`, `cells.totals`
    mass: np.ndarray  # the count whose hidden sum must reach min_cell: vehicles where counted, else passages


PROTECTIONS = ("table", "linked", "audited")  # see GenerateRequest.protection


def suppress_linked(tables: list[BuiltTable], min_cell: int, linked: bool = True) -> int:
    """Primary suppression, then secondary suppression across the linked tables until nothing changes.

    Each sweep protects every row of every table (`_secondary_sweep`) and the links between tables
    (`_hours_link_sweep`, `_zone_link_sweep`); suppression only ever grows, so the loop ends. A step is
    skipped when its tables are as it last left them without a change (same counts of suppressed cells,
    and suppression only grows, so the same cells): it would change nothing.
    `linked=False`: each table on its own with the plain one-secret rule, as CBS protects table by table.
    """
    by_code = {t.code: t for t in tables}
    zone_codes = [code for code in ZONE_TABLES if code in by_code]
    zone_tables = [by_code[code].cells for code in zone_codes]
    for table in tables:
        primary(table.cells, min_cell)
    steps = [([table.code], lambda t=table: _secondary_sweep(t.cells, min_cell, t.mass, careful=linked)) for table in tables]
    if linked and "T01" in by_code and "T02" in by_code:
        steps.append((["T01", "T02"], lambda: _hours_link_sweep(by_code["T01"].cells, by_code["T02"].cells, min_cell)))
    if linked and len(zone_tables) > 1:
        steps.append((zone_codes, lambda: _zone_link_sweep(zone_tables)))
    counts = {t.code: t.cells.n_suppressed() for t in tables}
    fixed_at: dict[int, tuple[int, ...]] = {}  # per step: its tables' counts when it last ran and changed nothing
    before = -1
    while sum(counts.values()) != before:
        before = sum(counts.values())
        for i, (codes, run) in enumerate(steps):
            state = tuple(counts[code] for code in codes)
            if fixed_at.get(i) == state:
                continue  # nothing changed since it last changed nothing: it would change nothing again
            run()
            counts.update({code: by_code[code].cells.n_suppressed() for code in codes})
            if tuple(counts[code] for code in codes) == state:
                fixed_at[i] = state
    return before


def observations(con: duckdb.DuckDBPyConnection, cells: CellGrid, table: c.ObservationTable, rounding_base: int) -> str:
    """Long-form observations with rounded values and CBS value attributes, as DuckDB temp table `obs_<code>`.

    Also hands DuckDB the protected grid as view `cells_<code>` (true counts and status per cell, the columns
    and order of the former SQL grid; the audit pass reads T01's and T02's true passages from it).
    """
    register(con, f"cells_{table.code}", cells_table(cells))
    name = f"obs_{table.code}"
    materialize(con, name, observations_table(cells, table.measures, rounding_base))
    return name


def build(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    grid: dict[str, list[str]],
    period_year: int,
    sources: Sources | None = None,
) -> BuiltTable:
    cells = build_cells(con, spec, grid, period_year, sources)
    mass = cells.vehicles if spec.from_vehicles else cells.passages
    return BuiltTable(spec.table.code, cells, mass)


def protect_tables(
    con: duckdb.DuckDBPyConnection,
    specs: list[TableSpec],
    grid: dict[str, list[str]],
    period_year: int,
    min_cell: int,
    rounding_base: int,
    linked: bool = True,
) -> dict[str, str]:
    """All tables of a delivery protected together (or each on its own); returns table code -> observations relation."""
    sources = source_reader(con, specs)
    built = [build(con, spec, grid, period_year, sources) for spec in specs]
    del sources  # the source columns are no longer needed
    suppress_linked(built, min_cell, linked)
    return {spec.table.code: observations(con, table.cells, spec.table, rounding_base) for spec, table in zip(specs, built)}


def protect(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    grid: dict[str, list[str]],
    period_year: int,
    min_cell: int,
    rounding_base: int,
) -> str:
    """One table protected on its own, with the plain one-secret rule."""
    return protect_tables(con, [spec], grid, period_year, min_cell, rounding_base, linked=False)[spec.table.code]
