"""Extra suppression until the audit finds no cell at risk: the core that `anpr export --protect` needs.

Greedy, as the issue asks: for every cell at risk, hide the smallest published cell among
the numbers that pin it down (another table's copy of the same number first; a non-zero
cell before a 0, which describes nobody; a detail cell before a total), then solve the
changed groups again; repeat. Works on a copy of the delivery's cells, never on the
warehouse's copy of CBS's data.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from .. import contract as c
from .cells import Cell, DeliveryCells
from .constraints import System, build_system, cell_bounds
from .run import AuditResult, audit_cells
from .solve import Interval, Seen, SolveStats, components, solve_groups

MAX_ROUNDS = 60  # a round re-solves only the groups it changed, so rounds are cheap


@dataclass
class Protection:
    delivery: DeliveryCells  # the protected copy
    suppressed: list[Cell]  # published cells now marked Confidential
    rounds: int
    audit: AuditResult | None  # the protected copy's own audit (None when the caller asked for none)
    unresolved: int = 0  # cells still at risk when the rounds stopped, plus groups that admit no values (0: none)
    stats: object | None = None  # protect_minimal: its minimal.MinimalStats


def own_copy(system: System, var: int) -> list[tuple[int, Cell]]:
    """[(var, the first published cell of var)] when another table publishes the very same number, else []:
    hiding that copy alone is the first choice for a confidential cell (the LP greedy's and the zone greedy's)."""
    return [(var, cell) for cell in system.cells[var] if cell.attribute == "None"][:1]


def options(system: System, interval: Interval) -> list[tuple[int, Cell]]:
    """(variable, published cell) that may be hidden for one cell at risk: another table's copy of the very same
    number when there is one (alone), else the published cells of the rows and bounds that pin its optimum."""
    own = own_copy(system, interval.var)
    if own:
        return own
    variables = list(interval.binding_vars) + [v for r in interval.binding_rows for v in system.rows[r].vars]
    return [(v, cell) for v in variables for cell in system.cells[v] if cell.attribute == "None"]


def preference(cell: Cell) -> tuple:
    """The order among options: a non-zero before a 0 (a published 0 describes nobody: hide one only when nothing
    else pins the cell), a detail before a total, the smallest value, then table and line."""
    return (cell.value == 0, c.TOTAL in cell.dims, cell.value, cell.table, cell.line)


def _choose(system: System, interval: Interval) -> Cell | None:
    """The published cell to hide for one cell at risk."""
    found = options(system, interval)
    return min((cell for _, cell in found), key=preference) if found else None


def _hide(system: System, var: int, cell: Cell, delivery: DeliveryCells, min_cell_rule: bool) -> Cell:
    """Marks one published cell Confidential in the system and recomputes its variable's bounds."""
    hidden = dataclasses.replace(cell, value=None, attribute="Confidential")
    system.cells[var] = [hidden if other is cell else other for other in system.cells[var]]
    set_bounds_from_cells(system, var, delivery, min_cell_rule)
    return hidden


def set_bounds_from_cells(system: System, var: int, delivery: DeliveryCells, min_cell_rule: bool) -> None:
    """A variable's bounds from its cells as they are now (each published copy narrows them)."""
    bounds = [
        cell_bounds(other, delivery.rounding_base // 2, delivery.min_cell if min_cell_rule else None)
        for other in system.cells[var]
    ]
    system.lower[var] = max(low for low, _ in bounds)
    system.upper[var] = min(high for _, high in bounds)


def protect_cells(
    delivery: DeliveryCells,
    min_cell_rule: bool = False,
    jobs: int = 1,
    final_audit: bool = True,
    truth: dict[tuple[str, int], int] | None = None,
) -> Protection:
    """Greedy rounds; each round solves again only the groups whose cells changed or were at risk.

    `final_audit=False` skips the closing full audit (the generator's speed): `unresolved` then tells
    whether the last round found no cell at risk. `truth`: the true value of each cell by (table, line),
    when the caller knows them (the generator): a group that `zone_points.proven_safe` proves wholly safe
    from them leaves the rounds (the LPs would find nothing at risk in it, and no round would touch it again;
    the proof itself still solves the group's first LP and any cell the points leave unproven), so the result
    is the same as without `truth`.
    """
    system = build_system(delivery, min_cell_rule)
    groups = components(system, set(range(len(system.lower))))
    group_of = {v: g for g, (variables, _) in enumerate(groups) for v in variables}
    var_of = {(cell.table, cell.line): v for v, cells in enumerate(system.cells) for cell in cells}
    active = set(range(len(groups)))
    if truth is not None:
        from .zone_points import proven_safe

        known = true_by_variable(system, truth)
        active = {g for g in active if not proven_safe(system, *groups[g], known, delivery.min_cell)}
    replaced: dict[tuple[str, int], Cell] = {}
    suppressed: list[Cell] = []
    rounds = 0
    at_risk: list[Interval] = []
    seen: dict[int, Seen] = {}  # per group: hiding only widens its feasible set, so earlier points stay feasible
    infeasible = 0  # groups that admit no values: nothing proves them safe, so they count as unresolved
    left: dict[int, int] = {}  # per group: its cells at risk when it was last solved (a group no hide touches stays)
    while active and rounds < MAX_ROUNDS:
        rounds += 1
        order = sorted(active)
        now = {i: seen[g] for i, g in enumerate(order) if g in seen}
        stats = SolveStats()
        at_risk = solve_groups(system, [groups[g] for g in order], delivery.min_cell, stats, jobs, now)
        infeasible += stats.infeasible_components  # such a group has no cell to hide, so it is solved only once
        seen.update({order[i]: points for i, points in now.items()})
        left.update({g: 0 for g in order})
        for interval in at_risk:
            left[group_of[interval.var]] += 1
        chosen = {}
        for interval in at_risk:
            cell = _choose(system, interval)
            if cell is not None:
                chosen[(cell.table, cell.line)] = cell
        active = set()
        for key, cell in chosen.items():
            var = var_of[key]
            replaced[key] = _hide(system, var, cell, delivery, min_cell_rule)
            suppressed.append(cell)
            active.add(group_of[var])
    # each group's cells at risk when it was last solved (none left, none it could hide a cell for, or MAX_ROUNDS
    # reached; review: the last round's alone forgot a group stuck in an earlier round), and each infeasible group
    # (review: counted as 0 at risk, it let the generator write it as safe)
    unresolved = sum(left.values()) + infeasible
    return _protected(delivery, replaced, suppressed, rounds, unresolved, min_cell_rule, jobs, final_audit)


def _protected(
    delivery: DeliveryCells,
    replaced: dict[tuple[str, int], Cell],
    suppressed: list[Cell],
    rounds: int,
    unresolved: int,
    min_cell_rule: bool,
    jobs: int,
    final_audit: bool,
) -> Protection:
    """The copy of the delivery with the hidden cells replaced, and (optionally) its own audit."""
    tables = {code: [replaced.get((cell.table, cell.line), cell) for cell in cells] for code, cells in delivery.tables.items()}
    protected = dataclasses.replace(delivery, tables=tables, notes=list(delivery.notes))
    audit = audit_cells(protected, min_cell_rule, jobs) if final_audit else None
    return Protection(protected, suppressed, rounds, audit, unresolved)


def protect_minimal(delivery: DeliveryCells, min_cell_rule: bool = False, jobs: int = 1, final_audit: bool = True) -> Protection:
    """The fewest extra suppressions per group (`minimal.py`: a MIP with cuts from the audit's LPs).

    `rounds` is the largest number of master/check rounds any group needed. A group that hits
    `minimal.MAX_ITERATIONS` still at risk is finished by the greedy rounds (`protect_cells`) on the
    minimal choice, so the result is clean whenever greedy can make it so; `unresolved` is then greedy's.
    """
    from .minimal import minimal_suppression

    system = build_system(delivery, min_cell_rule)
    hidden, stats = minimal_suppression(system, delivery.min_cell, jobs)
    replaced: dict[tuple[str, int], Cell] = {}
    suppressed: list[Cell] = []
    for var in hidden:
        for cell in [cell for cell in system.cells[var] if cell.attribute == "None"]:
            replaced[(cell.table, cell.line)] = _hide(system, var, cell, delivery, min_cell_rule)
            suppressed.append(cell)
    suppressed.sort(key=lambda cell: (cell.table, cell.line))
    if stats.unresolved:  # the bound on rounds stopped a group: hide more, greedily, on top of the minimal choice
        partial = _protected(delivery, replaced, suppressed, stats.iterations_max, stats.unresolved, min_cell_rule, jobs, False)
        rest = protect_cells(partial.delivery, min_cell_rule, jobs, final_audit)
        rest.suppressed = sorted(suppressed + rest.suppressed, key=lambda cell: (cell.table, cell.line))
        rest.rounds += stats.iterations_max
        rest.stats = stats
        return rest
    protection = _protected(delivery, replaced, suppressed, stats.iterations_max, 0, min_cell_rule, jobs, final_audit)
    protection.stats = stats
    return protection


def true_by_variable(system: System, truth: dict[tuple[str, int], int]) -> np.ndarray:
    """The true value of each variable from the true values of its cells by (table, line); nan where unknown."""
    known = np.full(len(system.lower), np.nan)
    for var, cells in enumerate(system.cells):
        values = {truth.get((cell.table, cell.line)) for cell in cells}
        if len(values) == 1 and None not in values:
            known[var] = values.pop()
    return known


PROTECTION = "cbs_package_protection"  # exists only in a protected copy: what --protect hid per delivery


def protected_copy(
    warehouse: Path, municipalities: list[str], months: list[str] | None, workdir: Path, min_cell_rule: bool = True
) -> tuple[Path, list[str]]:
    """A copy of the warehouse whose current deliveries (of these municipalities and months) are protected.

    The extra suppressions are applied to the copy's raw rows (Value emptied, ValueAttribute
    Confidential) and the marts rebuilt from them, so every file of a package (facts, metric
    answers, GeoJSON) is computed as if CBS had suppressed those cells. The warehouse itself,
    CBS's data as delivered, is never written. Returns (copy, one line per protected delivery).
    """
    from ..dbt_runner import run_dbt
    from .cells import cells_from_warehouse
    from .register import store_audit

    copy = workdir / "protected.duckdb"
    shutil.copy(warehouse, copy)
    lines = []
    con = duckdb.connect(str(copy))
    try:
        rows = con.execute(
            """select delivery_id, strftime(period_start, '%Y-%m') from raw.cbs_deliveries
               where status = 'current' and layout = 'v1' and municipality_code in (select unnest(?)) order by 1""",
            [municipalities],
        ).fetchall()
        db = con.execute("select current_database()").fetchone()[0]
        con.execute(
            f"create table if not exists raw.{PROTECTION} (delivery_id varchar primary key, cells_suppressed bigint not null)"
        )
        for ident, month in rows:
            if months and month not in months:
                continue
            delivery = cells_from_warehouse(con, ident)
            protection = protect_minimal(delivery, min_cell_rule, jobs=os.cpu_count() or 1)
            for table in {cell.table for cell in protection.suppressed}:
                lines_hidden = [cell.line for cell in protection.suppressed if cell.table == table]
                con.execute(
                    f"""update raw.cbs_v1_{table.lower()}_observations set "Value" = '', "ValueAttribute" = 'Confidential'
                        where delivery_id = ? and line_number in (select unnest(?))""",
                    [ident, lines_hidden],
                )
            audit = protection.audit  # the copy's audit row, stored as a load stores it
            store_audit(con, db, audit)
            con.execute(f"insert or replace into raw.{PROTECTION} values (?, ?)", [ident, len(protection.suppressed)])
            lines.append(
                f"protected {ident}: {len(protection.suppressed)} more published cells marked confidential in the package "
                f"({len(audit.at_risk)} cells still at risk)"
            )
    finally:
        con.close()
    # --full-refresh: the raw rows changed in place under the same delivery ids, which an incremental run
    # (macros/incremental_partitions.sql) rightly takes as unchanged
    run_dbt(["run", "--quiet", "--full-refresh"], copy)
    return copy, lines
