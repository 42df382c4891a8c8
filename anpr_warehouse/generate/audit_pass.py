"""The generator's last step: audit every group of what it is about to write, and hide more until nothing is at risk.

`sdc.suppress_linked` protects the links between tables with cheap rules; this pass checks them exactly.
The location-day groups (T01's hours x categories linked to T02's categories x fuels, about 1,240 in a
40-location month) are a flow network, so `audit.location_days` decides them exactly from the true counts
without LPs (docs/disclosure-audit.md, "The location-day groups are a network"); the few it cannot certify
go to the LP audit and its greedy extra suppression (`audit.protect.protect_cells`). The zone groups (T03-T06,
two per month, linked to nothing else) go to `audit.zone_greedy`, which the true counts make cheaper, and
which hands a group back to the LP greedy when its bounded work does not prove it safe.

Both run on the observations in DuckDB before they are written, with the min-cell rule (the stronger
attacker the load's audit assumes), and the cells they hide are marked `Confidential`. Deterministic: the
check, the audit's LPs and the greedy choices depend only on the cells.
"""

from __future__ import annotations

import duckdb

from .. import contract as c
from ..audit.cells import Cell, DeliveryCells
from ..audit.constraints import ZONE_TABLES
from ..audit.location_days import certify, read_location_days
from ..audit.protect import protect_cells
from ..audit.zone_greedy import protect_zone_cells

HEADER_LINES = 1  # an observation with Id n is line n + 1 of its file


def delivery_cells(
    con: duckdb.DuckDBPyConnection, observations: dict[str, str], grid: dict[str, list[str]], min_cell: int, rounding_base: int
) -> DeliveryCells:
    """The observations as the audit reads them from a written delivery (same lines, values, attributes)."""
    tables = {}
    for code, relation in observations.items():
        dims = c.OBSERVATION_TABLES[code].dimensions
        rows = con.execute(f"select Id, Measure, {', '.join(dims)}, Value, ValueAttribute from {relation} order by Id").fetchall()
        tables[code] = [
            Cell(code, row[0] + HEADER_LINES, row[1], tuple(row[2:-2]), None if row[-2] is None else int(row[-2]), row[-1])
            for row in rows
        ]
    code_lists = {d: tuple(grid[d]) for d in c.DIMENSION_CODE_LIST if d in grid}
    return DeliveryCells("generated", min_cell, rounding_base, tables, code_lists)


def true_values(con: duckdb.DuckDBPyConnection, observations: dict[str, str]) -> dict[tuple[str, int], int]:
    """The true count behind each observation line (before rounding and suppression), from the cell grids
    `sdc.build_cells` made (`cells_<table>`): the feasible point the zone groups' proof starts from."""
    truth = {}
    for code, relation in observations.items():
        dims = ", ".join(c.OBSERVATION_TABLES[code].dimensions)
        rows = con.execute(
            f"""select o.Id, case when o.Measure = 'M_PASSAGES' then k.passages else k.vehicles end
                from {relation} o join cells_{code} k using ({dims})"""
        ).fetchall()
        truth.update(((code, ident + HEADER_LINES), value) for ident, value in rows)
    return truth


def location_days_to_audit(
    con: duckdb.DuckDBPyConnection, observations: dict[str, str], min_cell: int, rounding_base: int
) -> list[tuple[str, str]] | None:
    """The (Location, Date) groups the network check (`audit.location_days`) cannot certify; None: all of them.

    The check is exact (a group it does not certify has a cell at risk, or its true counts do not satisfy
    the published numbers, as after a correction's recalibration); the LP audit then explains and protects it.
    """
    if "T01" not in observations or "T02" not in observations:
        return []
    days = read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, min_cell, rounding_base)
    if days is None:
        return None
    return [days.keys[g] for g in certify(days, min_cell).uncertified]


def protect_observations(
    con: duckdb.DuckDBPyConnection, observations: dict[str, str], grid: dict[str, list[str]], min_cell: int, rounding_base: int
) -> tuple[int, int]:
    """Audits every group and hides the cells the audit's greedy choice names; returns (cells hidden, cells still at risk).

    The zone groups go to `audit.zone_greedy` (a group the true counts prove wholly safe is left as is); the
    location-day groups to the network check first, and only those it does not certify to the LP audit.
    """
    relations = {code: relation for code, relation in observations.items() if code in ZONE_TABLES}
    uncertified = location_days_to_audit(con, observations, min_cell, rounding_base)
    if uncertified is None:
        relations.update({code: observations[code] for code in ("T01", "T02")})
    elif uncertified:
        con.execute("create or replace temp table audit_location_days (Location varchar, Date varchar)")
        con.executemany("insert into audit_location_days values (?, ?)", uncertified)
        for code in ("T01", "T02"):
            con.execute(
                f"""create or replace temp view audit_{code} as select * from {observations[code]}
                    where (Location, Date::varchar) in (select (Location, Date) from audit_location_days)"""
            )
            relations[code] = f"audit_{code}"
    if not relations:
        return 0, 0
    zones = {code: relation for code, relation in relations.items() if code in ZONE_TABLES}
    days = {code: relation for code, relation in relations.items() if code not in ZONE_TABLES}
    suppressed, unresolved = [], 0
    if zones:  # the zone groups are linked to nothing else: their own greedy (`audit.zone_greedy`)
        zone_delivery = delivery_cells(con, zones, grid, min_cell, rounding_base)
        suppressed, unresolved = protect_zone_cells(zone_delivery, true_values(con, zones))
    if days:
        delivery = delivery_cells(con, days, grid, min_cell, rounding_base)
        protection = protect_cells(delivery, min_cell_rule=True, jobs=1, final_audit=False)
        suppressed, unresolved = suppressed + protection.suppressed, unresolved + protection.unresolved
    for code in relations:
        ids = sorted(cell.line - HEADER_LINES for cell in suppressed if cell.table == code)
        if ids:
            con.execute(
                f"update {observations[code]} set Value = null, ValueAttribute = 'Confidential' where Id in (select unnest(?))",
                [ids],
            )
    return len(suppressed), unresolved
