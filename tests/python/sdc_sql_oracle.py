"""The generator's suppression rules as DuckDB SQL: the oracle `anpr_warehouse.generate.sdc` is checked against.

Why keep it: `sdc` does these rules on numpy cubes (cell_grid.py) for speed, and its output must stay byte
for byte what these statements produce (which cells are secret, the values, the line order). This is
the SQL implementation of main @ 25fec40, unchanged but for the names it imports; `test_sdc_cell_grid`
runs both on real generated months and compares every cell and observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from anpr_warehouse import contract as c
from anpr_warehouse.generate.sdc import TableSpec, total_dimensions, total_sets


def _held_combinations_sql(totals: list[str], sets: list[tuple[str, ...]]) -> str:
    """A predicate on a grid row: its pattern of totals is one the table holds."""
    if len(sets) == 2 ** len(totals):
        return "true"
    patterns = [" and ".join(f"{d} {'<>' if d in kept else '='} '{c.TOTAL}'" for d in totals) or "true" for kept in sets]
    return " or ".join(f"({p})" for p in patterns)


def _q(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def build_cells(con: duckdb.DuckDBPyConnection, spec: TableSpec, grid: dict[str, list[str]], period_year: int) -> str:
    """Aggregate the source to every detail and total cell of the table's grid (full cube or nested)."""
    dims = list(spec.table.dimensions)
    totals = total_dimensions(spec.table, period_year)
    fixed = [d for d in dims if d not in totals]
    held = total_sets(totals, spec.nested)
    sets = ["(" + ", ".join(fixed + list(kept)) + ")" for kept in held]
    if spec.from_vehicles:
        aggregates = "sum(passages) as passages, count(*) as vehicles, count(*) as n_distinct"
    else:
        aggregates = "sum(passages) as passages, 0 as vehicles, sum(n_distinct) as n_distinct"
    grid_sql = " cross join ".join(f"(select unnest([{_q(grid[d] + ([c.TOTAL] if d in totals else []))}]) as {d})" for d in dims)
    coalesced = ", ".join(f"coalesce({d}, '{c.TOTAL}') as {d}" for d in dims)
    name = f"cells_{spec.table.code}"
    fa_year = (
        "case when FirstAdmissionYear like 'FA%' then substr(FirstAdmissionYear, 3)::integer end"
        if "FirstAdmissionYear" in dims
        else "null"
    )
    con.execute(
        f"""
        create or replace temp table {name} as
        with agg as (
            select {coalesced}, {aggregates}
            from {spec.source}
            group by grouping sets ({", ".join(sets)})
        ),
        grid as (select * from {grid_sql} where {_held_combinations_sql(totals, held)}),
        joined as (
            select
                grid.*,
                coalesce(agg.passages, 0)::bigint as passages,
                coalesce(agg.vehicles, 0)::bigint as vehicles,
                coalesce(agg.n_distinct, 0)::bigint as n_distinct,
                {fa_year} as fa_year
            from grid left join agg using ({", ".join(dims)})
        )
        select
            row_number() over (order by {", ".join(dims)}) as cell_id,
            * exclude (fa_year),
            coalesce(({spec.impossible_sql}), false) as impossible,
            coalesce(({spec.unknown_vehicles_sql}), false) as unknown_vehicles,
            false as suppressed
        from joined
        """
    )
    return name


def _count_suppressed(con: duckdb.DuckDBPyConnection, cells: str) -> int:
    return con.execute(f"select count(*) from {cells} where suppressed").fetchone()[0]


def primary(con: duckdb.DuckDBPyConnection, cells: str, min_cell: int) -> None:
    """Cells with 1..min_cell-1 distinct vehicles; also any cell with passages but fewer than min_cell vehicles.

    The contract's min-cell rule lets a reader infer that a published non-zero cell counts at least
    `min_cell` vehicles, so a cell with passages must never be published below that, whatever its count
    of distinct vehicles says (a camera cell of repeat passages can count 0 distinct vehicles).
    """
    con.execute(
        f"""update {cells} set suppressed = true
            where not impossible and (n_distinct between 1 and {min_cell - 1} or (passages > 0 and n_distinct < {min_cell}))"""
    )


def _secondary_sweep(
    con: duckdb.DuckDBPyConnection, cells: str, dims: list[str], totals: list[str], min_cell: int, mass: str, careful: bool = True
) -> None:
    """One sweep over the table's total dimensions: protects every row whose total is published.

    A row is exposed when its published total leaves one secret cell (differencing), or several whose
    hidden mass (their true `mass` summed) is below `min_cell`: then every secret cell of it lies in a range
    narrower than `min_cell` (the protection-level rule); or the reverse, a secret total whose cells are
    all published (their rounded sum pins it down). An exposed row gets its smallest published non-zero
    cell suppressed too (a 0 only as a second secret); when none is left, its total.
    `careful=False` is the plain rule a table-by-table office applies: only the one-secret rows.
    """
    mass_rule = f"(n_secret > 1 and hidden < {min_cell})" if careful else "false"
    reverse_rule = "(total_secret and n_secret = 0)" if careful else "false"
    for dim in totals:
        others = [d for d in dims if d != dim]
        by = ", ".join(others) if others else "1"
        on = " and ".join(f"c.{d} = g.{d}" for d in others) or "true"
        con.execute(
            f"""
            update {cells} set suppressed = true where cell_id in (
                with grp as (
                    select {by},
                        count(*) filter (where suppressed and {dim} <> '{c.TOTAL}') as n_secret,
                        coalesce(sum({mass}) filter (where suppressed and {dim} <> '{c.TOTAL}'), 0) as hidden,
                        bool_or({dim} = '{c.TOTAL}' and not suppressed) as total_published,
                        bool_or({dim} = '{c.TOTAL}' and suppressed) as total_secret
                    from {cells} group by {by}
                ),
                exposed as (
                    select * from grp
                    where (total_published and (n_secret = 1 or {mass_rule})) or {reverse_rule}
                ),
                candidates as (
                    select c.cell_id, g.*,
                        row_number() over (
                            partition by {", ".join("c." + d for d in others) or "1"}
                            order by (c.passages + c.vehicles = 0), c.n_distinct, c.{dim}
                        ) as rn
                    from {cells} c join exposed g on {on}
                    where not c.suppressed and not c.impossible and c.{dim} <> '{c.TOTAL}'
                      and (g.n_secret = 1 or c.passages + c.vehicles > 0)
                ),
                partner as (select cell_id from candidates where rn = 1),
                lonely_total as (
                    select c.cell_id from {cells} c join exposed g on {on}
                    where c.{dim} = '{c.TOTAL}'
                      and not exists (select 1 from candidates k where {" and ".join(f"k.{d} = g.{d}" for d in others) or "true"})
                )
                select cell_id from partner union all select cell_id from lonely_total
            )
            """
        )


def _hours_link_sweep(con: duckdb.DuckDBPyConnection, t01: str, t02: str, min_cell: int) -> None:
    """T01's hours of a location, date and category add up to T02's fuel total for it: protect that row too.

    T02's cell (FuelType T001) acts as the total of T01's Hour dimension, which has none of its own.
    Exposed as in `_secondary_sweep` (a published T02 cell leaving one secret hour, or secret hours of too
    little mass), or the reverse: a secret T02 cell whose every hour is published. Suppresses the smallest
    published non-zero hour, or, when none is left, the T02 cell.
    """
    con.execute(
        f"""
        create or replace temp table link_rows as
        with hours as (
            select Location, Date, VehicleCategory,
                count(*) filter (where suppressed) as n_secret,
                coalesce(sum(passages) filter (where suppressed), 0) as hidden
            from {t01} group by all
        ),
        fuel_total as (
            select Location, Date, VehicleCategory, cell_id as total_id, suppressed as total_secret, passages as total_passages
            from {t02} where FuelType = '{c.TOTAL}'
        )
        select h.*, f.total_id, f.total_secret, f.total_passages
        from hours h join fuel_total f using (Location, Date, VehicleCategory)
        where (not f.total_secret and (h.n_secret = 1 or (h.n_secret > 1 and h.hidden < {min_cell})))
           or (f.total_secret and h.n_secret = 0 and f.total_passages > 0)
        """
    )
    con.execute(
        f"""
        create or replace temp table link_pick as
        with candidates as (
            select c.cell_id, row_number() over (
                partition by c.Location, c.Date, c.VehicleCategory order by c.passages, c.Hour) as rn
            from {t01} c join link_rows r using (Location, Date, VehicleCategory)
            where not c.suppressed and not c.impossible and c.passages > 0
        )
        select cell_id from candidates where rn = 1
        """
    )
    con.execute(f"update {t01} set suppressed = true where cell_id in (select cell_id from link_pick)")
    con.execute(
        f"""update {t02} set suppressed = true where cell_id in (
                select r.total_id from link_rows r
                where not r.total_secret and not exists (
                    select 1 from {t01} c where c.Location = r.Location and c.Date = r.Date and c.VehicleCategory = r.VehicleCategory
                      and not c.suppressed and not c.impossible and c.passages > 0))"""
    )


def _zone_link_sweep(con: duckdb.DuckDBPyConnection, zone_tables: list[str]) -> None:
    """T03-T06 publish the same zone-category totals: a total secret in one table is made secret in all."""
    if len(zone_tables) < 2:
        return
    shared = {name: _shared_zone_predicate(con, name) for name in zone_tables}
    secret = " union ".join(
        f"select Zone, VehicleCategory from {name} where suppressed and {shared[name]}" for name in zone_tables
    )
    for name in zone_tables:
        con.execute(
            f"""update {name} set suppressed = true
                where not suppressed and not impossible and {shared[name]}
                  and (Zone, VehicleCategory) in (select (Zone, VehicleCategory) from ({secret}))"""
        )


def _shared_zone_predicate(con: duckdb.DuckDBPyConnection, name: str) -> str:
    columns = [row[0] for row in con.execute(f"describe {name}").fetchall()]
    breakdown = [
        col
        for col in columns
        if col
        not in (
            "cell_id",
            "Zone",
            "VehicleCategory",
            "passages",
            "vehicles",
            "n_distinct",
            "impossible",
            "unknown_vehicles",
            "suppressed",
        )
    ]
    return " and ".join(f"{col} = '{c.TOTAL}'" for col in breakdown) or "true"


@dataclass(frozen=True)
class BuiltTable:
    """A table's cell grid in DuckDB and what its suppression needs."""

    code: str
    cells: str
    dims: list[str]
    totals: list[str]
    mass: str  # the count whose hidden sum must reach min_cell: vehicles where counted, else passages


def suppress_linked(con: duckdb.DuckDBPyConnection, tables: list[BuiltTable], min_cell: int, linked: bool = True) -> int:
    """Primary suppression, then secondary suppression across the linked tables until nothing changes.

    Each sweep protects every row of every table (`_secondary_sweep`) and the links between tables
    (`_hours_link_sweep`, `_zone_link_sweep`); suppression only ever grows, so the loop ends. A step is
    skipped when its tables are as it last left them without a change (same counts of suppressed cells,
    and suppression only grows, so the same cells): it would change nothing, and the sweeps are most of
    the rules' cost.
    `linked=False`: each table on its own with the plain one-secret rule, as CBS protects table by table.
    """
    by_code = {t.code: t for t in tables}
    zone_tables = [by_code[code].cells for code in ("T03", "T04", "T05", "T06") if code in by_code]
    for table in tables:
        primary(con, table.cells, min_cell)
    steps = [
        ([table.cells], lambda t=table: _secondary_sweep(con, t.cells, t.dims, t.totals, min_cell, t.mass, careful=linked))
        for table in tables
    ]
    if linked and "T01" in by_code and "T02" in by_code:
        t01, t02 = by_code["T01"].cells, by_code["T02"].cells
        steps.append(([t01, t02], lambda: _hours_link_sweep(con, t01, t02, min_cell)))
    if linked and len(zone_tables) > 1:
        steps.append((zone_tables, lambda: _zone_link_sweep(con, zone_tables)))
    counts = {t.cells: _count_suppressed(con, t.cells) for t in tables}
    fixed_at: dict[int, tuple[int, ...]] = {}  # per step: its tables' counts when it last ran and changed nothing
    before = -1
    while sum(counts.values()) != before:
        before = sum(counts.values())
        for i, (cells, run) in enumerate(steps):
            state = tuple(counts[name] for name in cells)
            if fixed_at.get(i) == state:
                continue  # nothing changed since it last changed nothing: it would change nothing again
            run()
            counts.update({name: _count_suppressed(con, name) for name in cells})
            if tuple(counts[name] for name in cells) == state:
                fixed_at[i] = state
    return before


def observations(con: duckdb.DuckDBPyConnection, cells: str, table: c.ObservationTable, rounding_base: int) -> str:
    """Long-form observations with rounded values and CBS value attributes."""
    dims = ", ".join(table.dimensions)
    parts = []
    for measure in table.measures:
        column = "passages" if measure == "M_PASSAGES" else "vehicles"
        unknown = "unknown_vehicles" if measure == "M_VEHICLES" else "false"
        parts.append(
            f"""
            select '{measure}' as Measure, {dims},
                case when impossible or suppressed or {unknown} then null
                     else (round({column} / {rounding_base}) * {rounding_base})::bigint end as Value,
                case when impossible then 'Impossible' when {unknown} then 'Unknown'
                     when suppressed then 'Confidential' else 'None' end as ValueAttribute,
                cell_id
            from {cells}
            """
        )
    name = f"obs_{table.code}"
    con.execute(
        f"""
        create or replace temp table {name} as
        select row_number() over (order by cell_id, Measure) as Id, Measure, {dims}, Value, ValueAttribute
        from ({" union all ".join(parts)})
        order by Id
        """
    )
    return name


def build(con: duckdb.DuckDBPyConnection, spec: TableSpec, grid: dict[str, list[str]], period_year: int) -> BuiltTable:
    cells = build_cells(con, spec, grid, period_year)
    mass = "vehicles" if spec.from_vehicles else "passages"
    return BuiltTable(spec.table.code, cells, list(spec.table.dimensions), total_dimensions(spec.table, period_year), mass)


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
    built = [build(con, spec, grid, period_year) for spec in specs]
    suppress_linked(con, built, min_cell, linked)
    return {spec.table.code: observations(con, table.cells, spec.table, rounding_base) for spec, table in zip(specs, built)}
