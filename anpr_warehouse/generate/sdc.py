"""Statistical disclosure control as CBS applies it to a delivery.

Works in DuckDB on the full cell grid of one table (detail cells plus T001
totals): primary suppression of cells with fewer than `min_cell` distinct
vehicles, secondary suppression until no secret cell can be derived from a
published total in its row or column, then rounding of every published value.
Zero cells (no vehicle at all) are published as 0: they describe nobody.

Which total combinations a table holds is CBS's choice: the full cube (a total
for every combination of dimensions) or a nested set (each dimension's total
only within the detail of the dimensions before it, down to the grand total).
Suppression protects whichever totals exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import duckdb

from .. import contract as c


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


def suppress(con: duckdb.DuckDBPyConnection, cells: str, dims: list[str], totals: list[str], min_cell: int) -> int:
    """Primary then secondary suppression; returns the number of suppressed cells."""
    con.execute(f"update {cells} set suppressed = true where not impossible and n_distinct between 1 and {min_cell - 1}")
    changed = True
    while changed:
        changed = False
        for dim in totals:
            others = [d for d in dims if d != dim]
            by = ", ".join(others) if others else "1"
            on = " and ".join(f"c.{d} = g.{d}" for d in others) or "true"
            before = con.execute(f"select count(*) from {cells} where suppressed").fetchone()[0]
            con.execute(
                f"""
                update {cells} set suppressed = true where cell_id in (
                    with grp as (
                        select {by},
                            count(*) filter (where suppressed and {dim} <> '{c.TOTAL}') as n_secret,
                            bool_or({dim} = '{c.TOTAL}' and not suppressed) as total_published
                        from {cells} group by {by}
                    ),
                    exposed as (select * from grp where n_secret = 1 and total_published),
                    candidates as (
                        select c.cell_id, g.*,
                            row_number() over (
                                partition by {", ".join("c." + d for d in others) or "1"}
                                order by (c.passages + c.vehicles = 0), c.n_distinct, c.{dim}
                            ) as rn
                        from {cells} c join exposed g on {on}
                        where not c.suppressed and not c.impossible and c.{dim} <> '{c.TOTAL}'
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
            after = con.execute(f"select count(*) from {cells} where suppressed").fetchone()[0]
            changed = changed or after != before
    return con.execute(f"select count(*) from {cells} where suppressed").fetchone()[0]


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


def protect(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    grid: dict[str, list[str]],
    period_year: int,
    min_cell: int,
    rounding_base: int,
) -> str:
    cells = build_cells(con, spec, grid, period_year)
    suppress(con, cells, list(spec.table.dimensions), total_dimensions(spec.table, period_year), min_cell)
    return observations(con, cells, spec.table, rounding_base)
