"""Extra suppression until the audit finds no cell at risk: the core that `anpr export --protect` needs.

Greedy, as the issue asks: for every cell at risk, hide the smallest non-zero published
cell among the numbers that pin it down (a detail cell before a total; a published 0
describes nobody and hiding it would not widen anything), then audit again; repeat.
Works on a copy of the delivery's cells, never on the warehouse's copy of CBS's data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import contract as c
from .cells import Cell, DeliveryCells
from .constraints import build_system
from .run import AuditResult, audit_cells
from .solve import SolveStats, solve_intervals

MAX_ROUNDS = 25


@dataclass
class Protection:
    delivery: DeliveryCells  # the protected copy
    suppressed: list[Cell]  # published cells now marked Confidential
    rounds: int
    audit: AuditResult  # the protected copy's own audit


def _candidates(delivery: DeliveryCells, min_cell_rule: bool) -> dict[tuple[str, int], Cell]:
    """For each cell at risk, the published cell to hide: keyed by (table, line) so duplicates merge."""
    system = build_system(delivery, min_cell_rule)
    chosen: dict[tuple[str, int], Cell] = {}
    for interval in solve_intervals(system, delivery.min_cell, SolveStats()):
        variables = list(interval.binding_vars) + [v for r in interval.binding_rows for v in system.rows[r].vars]
        published = [cell for v in variables for cell in system.cells[v] if cell.attribute == "None" and cell.value]
        if not published:
            continue
        best = min(published, key=lambda cell: (c.TOTAL in cell.dims, cell.value, cell.table, cell.line))
        chosen[(best.table, best.line)] = best
    return chosen


def protect_cells(delivery: DeliveryCells, min_cell_rule: bool = False) -> Protection:
    tables = {code: list(cells) for code, cells in delivery.tables.items()}
    protected = dataclasses.replace(delivery, tables=tables, notes=list(delivery.notes))
    suppressed: list[Cell] = []
    for rounds in range(1, MAX_ROUNDS + 1):
        chosen = _candidates(protected, min_cell_rule)
        if not chosen:
            break
        by_table: dict[str, set[int]] = {}
        for table, line in chosen:
            by_table.setdefault(table, set()).add(line)
        for table, lines in by_table.items():
            cells = protected.tables[table]
            for i, cell in enumerate(cells):
                if cell.line in lines:
                    cells[i] = dataclasses.replace(cell, value=None, attribute="Confidential")
                    suppressed.append(cell)
    else:
        rounds = MAX_ROUNDS
    return Protection(protected, suppressed, rounds, audit_cells(protected, min_cell_rule))
