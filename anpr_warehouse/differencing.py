"""The differencing guard: no output may let anyone compute "total minus visible parts".

CBS protects its own tables (secondary suppression). A warehouse that adds cells
up creates new totals and parts, so the same check runs again on every derived
result before it leaves the warehouse: where a published total is exact and the
parts hide exactly one confidential cell, that cell could be recomputed. The
guard then withholds the part that holds it and the smallest other part, so at
least two unknowns remain.
"""

from __future__ import annotations

from dataclasses import dataclass

from .metrics import MetricResult, MetricValue


@dataclass(frozen=True)
class Exposure:
    group: tuple
    part: object
    metric: str


def exposures(parts: MetricResult, total: MetricResult, metric: str, total_metric: str, part_dimension: str) -> list[Exposure]:
    """Groups where the exact total minus the visible parts would reveal a single confidential cell."""
    keys = [g for g in parts.group_by if g != part_dimension]
    totals = {tuple(str(r[g]) for g in keys): r[total_metric] for r in total.rows}
    groups: dict[tuple, list[dict]] = {}
    for row in parts.rows:
        groups.setdefault(tuple(str(row[g]) for g in keys), []).append(row)
    found = []
    for key, rows in groups.items():
        exact_total: MetricValue | None = totals.get(key)
        if exact_total is None or not exact_total.complete or exact_total.value is None:
            continue
        if sum(r[metric].confidential_cells for r in rows) == 1:  # total - visible = that one cell
            holder = next(r for r in rows if r[metric].confidential_cells)
            found.append(Exposure(key, holder[part_dimension], metric))
    return found


def withhold(parts: MetricResult, total: MetricResult, metric: str, total_metric: str, part_dimension: str) -> int:
    """Applies secondary suppression to derived parts in place; returns how many values were withheld."""
    withheld = 0
    for exposure in exposures(parts, total, metric, total_metric, part_dimension):
        keys = [g for g in parts.group_by if g != part_dimension]
        rows = [r for r in parts.rows if tuple(str(r[g]) for g in keys) == exposure.group]
        holder = next(r for r in rows if r[part_dimension] == exposure.part)
        others = sorted(
            (r for r in rows if r is not holder and r[metric].value), key=lambda r: (r[metric].value, str(r[part_dimension]))
        )
        for row in [holder] + others[:1]:
            value = row[metric]
            row[metric] = MetricValue(None, max(value.confidential_cells, 1), False)
            withheld += 1
    return withheld
