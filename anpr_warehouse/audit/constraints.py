"""The linear system an attacker can write down from what a delivery publishes.

Variables are the true values of the delivery's cells; a cell that several
tables publish under the same key (T03-T06 share their zone x category totals)
is one variable. Constraints, each stated in the contract's terms in
docs/disclosure-audit.md:

- rounding: a published v is a true value in [v - floor(base/2), v + floor(base/2)], >= 0;
- `Impossible` is 0; `Confidential` and `Unknown` are >= 0 and nothing more;
- additivity: a T001 cell equals the sum of its parts along one dimension, when
  the delivery has every part; when some parts are missing it is at least their sum;
- T01-T02: T01 summed over the hours of a location, date and category equals
  T02's total over fuels for them (at least, when hours are missing);
- optional, the min-cell rule: a published non-zero cell counts >= min_cell, a published 0 is 0,
  and within one T03-T05 cell passages >= unique vehicles (each vehicle passed at least once).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import contract as c
from .cells import Cell, DeliveryCells

ZONE_TABLES = ("T03", "T04", "T05", "T06")
ZONE_KEY_DIMS = ("Zone", "VehicleCategory")


@dataclass(frozen=True, slots=True)
class Row:
    """lower <= sum(coefs * x[vars]) <= upper; `label` says in words which published numbers it uses."""

    vars: tuple[int, ...]
    coefs: tuple[float, ...]
    lower: float
    upper: float
    label: str


@dataclass
class System:
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cells: list[list[Cell]] = field(default_factory=list)  # the delivery's cells behind each variable
    rows: list[Row] = field(default_factory=list)

    def is_confidential(self, var: int) -> bool:
        return any(cell.attribute == "Confidential" for cell in self.cells[var])

    def is_published(self, var: int) -> bool:
        return any(cell.attribute == "None" for cell in self.cells[var])

    def bounds(self, variables: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of `variables`, in their order, as float arrays.

        Why not `np.array(self.lower)[variables]`: that converts the whole delivery's list (360,928 variables in
        a 40-location month) to pick a group of a few hundred, once per group; over a month's 1,244 location-day
        groups it was 32 of the audit's 46 CPU s.
        """
        count = len(variables)
        return (
            np.fromiter(map(self.lower.__getitem__, variables), dtype=float, count=count),
            np.fromiter(map(self.upper.__getitem__, variables), dtype=float, count=count),
        )


def positions(local: dict[int, int], variables: Iterable[int]) -> np.ndarray:
    """Each variable's position in a group (`local`: variable -> position), -1 for one outside it, as int64.

    Why a map and not an array as long as the whole system (one entry per variable of the delivery), filled
    per group: the audit builds a model for each of a month's 1,244 location-days (`System.bounds`, same reason).
    """
    found = list(variables)
    return np.fromiter(map(local.get, found, itertools.repeat(-1)), dtype=np.int64, count=len(found))


def _key(cell: Cell) -> tuple:
    """Cells with equal keys are the same number: T03-T06 share the zone x category cells of each measure."""
    if cell.table in ZONE_TABLES:
        names = c.OBSERVATION_TABLES[cell.table].dimensions
        if all(v == c.TOTAL for n, v in zip(names, cell.dims) if n not in ZONE_KEY_DIMS):
            return ("zone", cell.measure) + tuple(v for n, v in zip(names, cell.dims) if n in ZONE_KEY_DIMS)
    return (cell.table, cell.measure) + cell.dims


def cell_bounds(cell: Cell, half: int, min_cell: int | None) -> tuple[float, float]:
    """What one cell alone says about its true value (rounding, status, optionally the min-cell rule)."""
    if cell.attribute == "Impossible":
        return 0.0, 0.0
    if cell.attribute != "None" or cell.value is None:
        return 0.0, math.inf
    low, high = max(0, cell.value - half), cell.value + half
    if min_cell is not None:
        if cell.value == 0 and half < min_cell:
            high = 0  # fewer than min_cell vehicles would have been suppressed, so nobody is behind it
        elif cell.value > 0:
            low = max(low, min_cell)
    return float(low), float(high)


def build_system(delivery: DeliveryCells, min_cell_rule: bool = False) -> System:
    system = System()
    index: dict[tuple, int] = {}
    half = delivery.rounding_base // 2
    rule = delivery.min_cell if min_cell_rule else None
    var_of: dict[str, dict[tuple, int]] = {}  # table -> (measure,) + dims -> variable
    for code, cells in delivery.tables.items():
        own = var_of.setdefault(code, {})
        for cell in cells:
            key = _key(cell)
            low, high = cell_bounds(cell, half, rule)
            var = index.get(key)
            if var is None:
                var = index[key] = len(system.lower)
                system.lower.append(low)
                system.upper.append(high)
                system.cells.append([cell])
            else:
                system.lower[var] = max(system.lower[var], low)
                system.upper[var] = min(system.upper[var], high)
                system.cells[var].append(cell)
            own[(cell.measure,) + cell.dims] = var
    seen: set[tuple] = set()

    def add(row: Row) -> None:
        signature = (row.vars, row.coefs, row.lower, row.upper)
        if signature not in seen:
            seen.add(signature)
            system.rows.append(row)

    for code, own in var_of.items():
        for row in _additivity(code, own, delivery.code_lists):
            add(row)
    if "T01" in var_of and "T02" in var_of:
        for row in _hours_to_fuel(var_of["T01"], var_of["T02"]):
            add(row)
    if min_cell_rule:  # the same knowledge of how counts are made as the min-cell rule (see the docs)
        for code in ("T03", "T04", "T05"):
            for row in _passages_cover_vehicles(code, var_of.get(code, {})):
                add(row)
    return system


def _additivity(code: str, own: dict[tuple, int], code_lists: dict[str, tuple[str, ...]]):
    """One row per T001 cell and dimension: total = sum of parts (>= when parts are missing)."""
    table = c.OBSERVATION_TABLES[code]
    for axis, dim in enumerate(table.dimensions):
        position = axis + 1  # keys are (measure,) + dims
        groups: dict[tuple, list[int]] = defaultdict(list)
        totals: dict[tuple, int] = {}
        for key, var in own.items():
            rest = key[:position] + key[position + 1 :]
            if key[position] == c.TOTAL:
                totals[rest] = var
            else:
                groups[rest].append(var)
        if not totals:
            continue
        expected = len(code_lists.get(dim, ())) or None
        for rest, total in totals.items():
            parts = groups.get(rest)
            if not parts:
                continue
            complete = expected is not None and len(parts) >= expected
            dims = " ".join(f"{n}={v}" for n, v in zip(table.dimensions[:axis] + table.dimensions[axis + 1 :], rest[1:]))
            label = f"{code} {rest[0]} {dims}: {dim}=T001 {'=' if complete else '>='} sum over {dim}"
            yield Row(tuple(parts) + (total,), (1.0,) * len(parts) + (-1.0,), -math.inf if not complete else 0.0, 0.0, label)


def _hours_to_fuel(t01: dict[tuple, int], t02: dict[tuple, int]):
    """T01 (Location, Date, Hour, Category) summed over hours = T02 (Location, Date, Category, Fuel=T001)."""
    hours: dict[tuple, list[int]] = defaultdict(list)
    for (measure, location, date, _hour, category), var in t01.items():
        hours[(measure, location, date, category)].append(var)
    for (measure, location, date, category), parts in hours.items():
        total = t02.get((measure, location, date, category, c.TOTAL))
        if total is None:
            continue
        complete = len(parts) >= len(c.HOURS)
        label = f"T01-T02 {location} {date} {category}: sum over Hour of T01 {'=' if complete else '<='} T02 FuelType=T001"
        yield Row(tuple(parts) + (total,), (1.0,) * len(parts) + (-1.0,), -math.inf if not complete else 0.0, 0.0, label)


def _passages_cover_vehicles(code: str, own: dict[tuple, int]):
    for key, vehicles in own.items():
        if key[0] != "M_VEHICLES":
            continue
        passages = own.get(("M_PASSAGES",) + key[1:])
        if passages is not None and passages != vehicles:
            yield Row((passages, vehicles), (1.0, -1.0), 0.0, math.inf, f"{code} {' '.join(key[1:])}: passages >= vehicles")
