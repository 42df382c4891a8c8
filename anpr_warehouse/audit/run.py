"""One audit: cells -> constraints -> intervals -> the at-risk cells with what pins each down."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .cells import Cell, DeliveryCells
from .constraints import System, build_system
from .solve import Interval, SolveStats, solve_intervals

MAX_PINNING_CELLS = 12  # published numbers listed per at-risk cell (the binding rows can be long)


@dataclass(frozen=True)
class AtRiskCell:
    cell: Cell
    lower: int
    upper: int
    constraints: tuple[str, ...]  # the binding constraints, in words
    pinned_by: tuple[str, ...]  # the published numbers in them: "T02_Observations.csv:17 (... ) = 45"

    @property
    def exact(self) -> bool:
        return self.lower == self.upper


@dataclass
class AuditResult:
    delivery_id: str
    min_cell: int
    rounding_base: int
    min_cell_rule: bool
    cells: int
    confidential: int
    at_risk: list[AtRiskCell] = field(default_factory=list)
    seconds: float = 0.0
    components: int = 0
    lps: int = 0
    infeasible_components: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(cell.exact for cell in self.at_risk)


def _published(system: System, var: int) -> list[Cell]:
    return [cell for cell in system.cells[var] if cell.attribute == "None"]


def _explain(system: System, interval: Interval) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The binding constraints, and the published numbers in them: those whose rounding bound binds first, zeros last."""
    rows = [system.rows[r] for r in interval.binding_rows]
    tight = set(interval.binding_vars)
    variables = list(dict.fromkeys(list(interval.binding_vars) + [v for row in rows for v in row.vars]))
    cells = {cell.where(): (var not in tight, cell.value == 0, cell) for var in variables for cell in _published(system, var)}
    ordered = sorted(cells.values(), key=lambda item: (item[0], item[1]))
    pinned = [f"{cell.where()} {cell.measure} {cell.label()} = {cell.value}" for _, _, cell in ordered]
    if len(pinned) > MAX_PINNING_CELLS:
        pinned = pinned[:MAX_PINNING_CELLS] + [f"... and {len(pinned) - MAX_PINNING_CELLS} more"]
    return tuple(row.label for row in rows), tuple(pinned)


def audit_cells(delivery: DeliveryCells, min_cell_rule: bool = False, jobs: int = 1) -> AuditResult:
    started = time.perf_counter()
    system = build_system(delivery, min_cell_rule)
    stats = SolveStats()
    intervals = solve_intervals(system, delivery.min_cell, stats, jobs)
    at_risk = []
    for interval in intervals:
        constraints, pinned = _explain(system, interval)
        for cell in system.cells[interval.var]:
            if cell.attribute == "Confidential":
                at_risk.append(AtRiskCell(cell, int(interval.lower), int(interval.upper), constraints, pinned))
    at_risk.sort(key=lambda a: (a.cell.table, a.cell.line))
    notes = list(delivery.notes)
    if min_cell_rule:
        half = delivery.rounding_base // 2
        below = sum(
            1
            for cells in delivery.tables.values()
            for cell in cells
            if cell.attribute == "None" and cell.value and cell.value + half < delivery.min_cell
        )
        if below:
            notes.append(f"{below} published non-zero cells are below min_cell {delivery.min_cell}, against the min-cell rule")
    if stats.infeasible_components:
        notes.append(
            f"{stats.infeasible_components} groups of linked cells admit no values at all under these constraints "
            "(the delivery contradicts itself or a link does not hold); their cells were not audited"
        )
    return AuditResult(
        delivery.delivery_id,
        delivery.min_cell,
        delivery.rounding_base,
        min_cell_rule,
        delivery.count(),
        delivery.confidential(),
        at_risk,
        time.perf_counter() - started,
        stats.components,
        stats.lps,
        stats.infeasible_components,
        notes,
    )
