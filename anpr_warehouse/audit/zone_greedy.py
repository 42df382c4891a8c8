"""The generator's extra suppression of a zone group, greedy without depending on an LP's vertex.

Why this exists: `protect.protect_cells` finds the cells at risk of a zone group (T03-T06 of one zone,
about 6,800 variables) with a sequence of LPs per round, and picks the cell to hide from the rows and
bounds the optimal vertex makes binding; that sequence is the generator's largest cost. The generator
knows the true counts, so most of the work can go without LPs (`protect_zone_group`):

1. **propagation finds what is at risk for certain**: the propagated box (`zone_points.propagated_bounds`)
   holds every feasible point, so a confidential cell narrower than `min_cell` in it is at risk whatever
   the LPs say. The cell to hide comes from the rows that pin it (the rows whose implied bound is the
   box's bound), in `protect._choose`'s order: another table's copy first, a non-zero before a 0, a detail
   before a total, the smallest value, then table and line. Hide, propagate again.
2. **the proof, never from propagation**: the box is an OUTER bound, it can only show "at risk". When it
   shows nothing more, every confidential cell must still be proven safe: by exactly feasible integer
   points (the true counts and the solutions with published cells fixed, rounded and checked against
   every row and bound) seen `min_cell` apart, and the cells they leave unproven by the audit's own LPs
   (`solve._component`: more points, then each remaining cell's exact min and max). A cell those find at
   risk gets `protect._choose` on its LP interval, and the loop goes on.

It hides different cells than `protect_cells` (no vertex decides), so its output differs from the LP
greedy's for a group with a cell at risk; a group `zone_points.proven_safe` proves wholly safe is left as is.

Which cell to hide: for each cell at risk, among its options (above) the one that is an option for the most
cells at risk of the step, then `protect._choose`'s order. Then `show_again` publishes again the first
`SHOW_AGAIN_TRIES` hidden cells of a group whose full proof still passes without them (each try costs LPs).

Its work is bounded (MAX_STEPS, MAX_PROOFS, MAX_HIDDEN): a group it has not proven safe within them goes
to the LP greedy, which protects it from the delivery's cells as before this module (`protect_zone_cells`).

Measured (GM0344 2025, seed 1, 2026-11-30, load 0.6-1.9; `scripts/bench_generate_year.py`, figures in
benchmarks/results.md): the 40-location year hides 13,653 cells in T03-T06 as the LP greedy does, in 18.1-19.3 s
wall / 35-37 CPU s against 22-25 s / 42-48 (no group gives up; at most 12 steps and one proof with cells at
risk); 12 locations: 20,123 hidden against 20,143, CPU about even; 5 locations: 27,702 against 27,708, about
20 % more CPU (five groups give up after about 0.4 CPU s each; unbounded, one of them took 177 CPU s).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import highspy
import numpy as np

from .cells import Cell, DeliveryCells
from .constraints import System
from .protect import _hide, options, own_copy, preference, set_bounds_from_cells
from .solve import EPS, ComponentModel, Seen, SolveStats, _component
from .zone_points import FlatRows, certainly_at_risk, flat_rows, implied_bounds, known_point, points_with_published_fixed

SHOW_AGAIN_TRIES = 3  # cells per group tried (first hidden first: later hides often free them): each try costs a proof with LPs
MAX_POOL = 400  # integer points kept per group between proofs
# The greedy's budget per group. Past it the group goes to the LP greedy
# (`protect.protect_cells`), whose cost is bounded: in a sparse group (a 5-location month: small zone totals,
# many published zeros) hiding the cells that pin one cell at risk puts new cells at risk, step after step
# (measured, GM0344 2025-06 with 5 locations: 116 steps and 2,603 cells hidden, 177 CPU s, 44 cells still at
# risk; the LP greedy: 17 cells hidden in 2 CPU s). Measured on the 40-location year GM0344 2025 (24 groups
# with a cell at risk): at most 12 steps, 1 LP step and 49 cells hidden in one group.
MAX_STEPS = 16  # hide-and-look-again steps (each hides at least one cell)
MAX_PROOFS = 4  # full proofs (points, then LPs): each costs LPs, dearer as more is hidden
MAX_HIDDEN = 120  # no further step once more cells than this are hidden (a step may hide several)


@dataclass
class GroupProtection:
    hidden: list[tuple[int, Cell]] = field(default_factory=list)  # (variable, cell hidden)
    steps: int = 0
    unresolved: int = 0  # cells still at risk when the steps stopped (0: proven safe; -1: gave up, unknown)
    lp_steps: int = 0  # steps whose cells at risk came from the LPs, not from propagation
    gave_up: bool = False  # the budget ran out (MAX_STEPS, MAX_PROOFS, MAX_HIDDEN) before the group was proven safe


def protect_zone_group(
    system: System, variables: list[int], rows: list[int], truth: np.ndarray, delivery: DeliveryCells, min_cell_rule: bool
) -> GroupProtection:
    """Hides published cells of one group until every confidential cell is proven safe; changes `system` in place.

    Stops with `gave_up` when the budget runs out (the caller then gives the group to the LP greedy).
    """
    min_cell = delivery.min_cell
    result = GroupProtection()
    pool: list[np.ndarray] = []
    proofs = 0
    flat = flat_rows(system, variables, rows)  # hiding changes bounds only: the rows are read once per group
    entries_of_row = np.split(flat.column, np.cumsum(np.bincount(flat.row_of, minlength=flat.rows))[:-1])
    while result.steps < MAX_STEPS and len(result.hidden) <= MAX_HIDDEN:
        result.steps += 1
        chosen = _at_risk_by_propagation(system, variables, rows, min_cell, flat, entries_of_row)
        if not chosen:
            if proofs == MAX_PROOFS:
                break
            proofs += 1
            at_risk = _at_risk_by_proof(system, variables, rows, truth, min_cell, pool, flat=flat)
            if at_risk is None:
                result.unresolved = 0
                return result
            result.lp_steps += 1
            chosen = _cover([options(system, interval) for interval in at_risk])
            if not chosen:  # the LP called the group infeasible (nothing is proven, review), or nothing published is left to hide
                result.unresolved = max(1, len(at_risk))
                return result
        for var, cell in chosen.values():
            _hide(system, var, cell, delivery, min_cell_rule)
            result.hidden.append((var, cell))
    result.unresolved = -1  # gave up: unknown how many remain
    result.gave_up = True
    return result


def show_again(
    system: System,
    variables: list[int],
    rows: list[int],
    truth: np.ndarray,
    delivery: DeliveryCells,
    min_cell_rule: bool,
    group: GroupProtection,
) -> None:
    """Publishes again each of the first `SHOW_AGAIN_TRIES` hidden cells whose group stays proven safe without it.

    Why: the greedy hides for every cell at risk at once, and a later hide often frees an earlier one;
    a cell shown again only after the whole proof (`_at_risk_by_proof`) passes, so the group stays safe.
    """
    min_cell = delivery.min_cell
    kept, pool = [], []
    flat = flat_rows(system, variables, rows)
    model = ComponentModel(system, variables, rows, keep=frozenset(var for var, _ in group.hidden))
    for attempt, (var, cell) in enumerate(group.hidden):
        if attempt >= SHOW_AGAIN_TRIES:
            kept.append((var, cell))
            continue
        hidden_state = (list(system.cells[var]), system.lower[var], system.upper[var])
        _publish(system, var, cell, delivery, min_cell_rule)
        _set_bounds(model, var, system)
        if not len(certainly_at_risk(system, variables, rows, min_cell, flat)[0]) and (
            _at_risk_by_proof(system, variables, rows, truth, min_cell, pool, model, flat) is None
        ):
            continue  # shown again: still proven safe
        system.cells[var], system.lower[var], system.upper[var] = hidden_state
        _set_bounds(model, var, system)
        kept.append((var, cell))
    group.hidden = kept


def _publish(system: System, var: int, cell: Cell, delivery: DeliveryCells, min_cell_rule: bool) -> None:
    """Publishes `cell` again, and only it: the other copies of the same number (T03-T06 share their zone totals)
    keep the state they have now, and the bounds follow from the cells as `protect._hide` computes them.

    Why not restore the list saved when the cell was hidden (review): a later step may have hidden another copy
    since, and restoring the old list would publish that copy again while the proof saw it hidden.
    """
    key = (cell.table, cell.line)
    system.cells[var] = [cell if (other.table, other.line) == key else other for other in system.cells[var]]
    set_bounds_from_cells(system, var, delivery, min_cell_rule)


def _set_bounds(model: ComponentModel, var: int, system: System) -> None:
    """The model's column of `var` given the system's bounds (the model keeps its basis)."""
    upper = system.upper[var]
    model.highs.changeColBounds(model.local[var], system.lower[var], highspy.kHighsInf if np.isinf(upper) else upper)


def _at_risk_by_propagation(
    system: System, variables: list[int], rows: list[int], min_cell: int, flat: FlatRows, entries_of_row: list[np.ndarray]
) -> dict[tuple[str, int], tuple[int, Cell]]:
    """The cells to hide for the confidential cells narrower than `min_cell` in the propagated box (none: nothing
    at risk for certain, which proves nothing)."""
    risky, lower, upper = certainly_at_risk(system, variables, rows, min_cell, flat)
    if not len(risky):
        return {}
    low, high = implied_bounds(flat, lower, upper)
    return _cover([_pinning_choice(system, variables, i, flat, low, high, lower, upper, entries_of_row) for i in risky.tolist()])


def _cover(options: list[list[tuple[int, Cell]]]) -> dict[tuple[str, int], tuple[int, Cell]]:
    """One cell to hide per cell at risk: the option shared by the most cells at risk, then `protect.preference`."""
    shared: dict[tuple[str, int], int] = {}  # how many cells at risk a cell to hide is an option for
    for candidates in options:
        for key in {(cell.table, cell.line) for _, cell in candidates}:
            shared[key] = shared.get(key, 0) + 1
    chosen = {}
    for candidates in options:
        if candidates:
            var, cell = min(candidates, key=lambda vc: (-shared[(vc[1].table, vc[1].line)], *preference(vc[1])))
            chosen[(cell.table, cell.line)] = (var, cell)
    return chosen


def _pinning_choice(
    system: System,
    variables: list[int],
    i: int,
    flat: FlatRows,
    low: np.ndarray,
    high: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    entries_of_row: list[np.ndarray],
) -> list[tuple[int, Cell]]:
    """The published cells that may be hidden for variable i (local): its own published copy, else the published
    cells of the rows whose implied bound is the box's bound (all its rows when none is)."""
    own = own_copy(system, variables[i])
    if own:
        return own
    mine = np.flatnonzero(flat.column == i)
    pinning = mine[(high[mine] <= upper[i] + EPS) | (low[mine] >= lower[i] - EPS)]
    for entries in (pinning, mine):
        candidates = [
            (variables[j], cell)
            for r in sorted(set(flat.row_of[entries].tolist()))
            for j in entries_of_row[r].tolist()
            if j != i
            for cell in system.cells[variables[j]]
            if cell.attribute == "None"
        ]
        if candidates:
            return candidates
    return []


def _at_risk_by_proof(
    system: System,
    variables: list[int],
    rows: list[int],
    truth: np.ndarray,
    min_cell: int,
    pool: list[np.ndarray],
    model: ComponentModel | None = None,
    flat: FlatRows | None = None,
):
    """None when every confidential cell is proven safe (exact integer points, then the audit's LPs); else the
    intervals of the cells at risk (an empty list when the group is infeasible: nothing to prove it with).

    `pool` (one array of integer points, changed in place): points found before, checked again here (a
    point feasible under earlier bounds need not be feasible now), plus the true counts with published
    cells fixed; the LP solutions that turn out exactly feasible join it. `model`: a model of the group kept
    up to date by the caller (its warm basis spares most of the simplex work); a new one when None. `flat`: the
    group's `flat_rows`, when the caller keeps them.
    """
    flat = flat_rows(system, variables, rows) if flat is None else flat
    wanted = np.array([i for i, v in enumerate(variables) if system.is_confidential(v)], dtype=np.int64)
    candidates = list(pool)
    if not candidates and known_point(system, variables, rows, truth) is not None:
        candidates = [points_with_published_fixed(system, variables, rows, truth, min_cell)]
    points = exact_points(system, variables, flat, np.vstack(candidates) if candidates else None)
    pool[:] = [points] if len(points) else []
    seen = Seen(points.min(axis=0).astype(float), points.max(axis=0).astype(float)) if len(points) else None
    if seen is not None and (seen.seen_high[wanted] - seen.seen_low[wanted] >= min_cell).all():
        return None  # every confidential cell seen at two exactly feasible integers min_cell apart
    model = model or ComponentModel(system, variables, rows)
    found, proof = _component(model, wanted, min_cell, SolveStats(), seen)
    if proof is None:
        return []
    if proof.points:
        more = exact_points(system, variables, flat, np.array(proof.points))
        if len(more):
            pool[:] = [np.unique(np.vstack(pool + [more]), axis=0)[-MAX_POOL:]]
    if not found and not proof.pending:
        return None
    return found


def exact_points(system: System, variables: list[int], flat: FlatRows, points: np.ndarray | None) -> np.ndarray:
    """The points, rounded to integers, that satisfy every bound and row exactly (the others dropped).

    Why: an LP solution is feasible only up to HiGHS's tolerance; a proof of safety must rest on points
    that truly are feasible.
    """
    if points is None or not len(points):
        return np.zeros((0, len(variables)), dtype=np.int64)
    whole = np.rint(points).astype(np.int64)
    lower, upper = system.bounds(variables)
    inside = ((whole >= lower) & (whole <= upper)).all(axis=1)
    coef = flat.coef.astype(np.int64)
    if (coef != flat.coef).any():
        return whole[:0]  # non-integer coefficients: not checked exactly here
    row_lower = np.full(flat.rows, -np.inf)
    row_upper = np.full(flat.rows, np.inf)
    row_lower[flat.row_of] = flat.row_lower
    row_upper[flat.row_of] = flat.row_upper
    for k in np.flatnonzero(inside).tolist():
        sums = np.bincount(flat.row_of, coef * whole[k][flat.column], flat.rows)  # sums of small integers: exact
        inside[k] = bool(((sums >= row_lower) & (sums <= row_upper)).all())
    return whole[inside]


def protect_zone_cells(
    delivery: DeliveryCells, truth: dict[tuple[str, int], int], min_cell_rule: bool = True
) -> tuple[list[Cell], int]:
    """(published cells to hide, cells still at risk) for the zone tables of a delivery, group by group.

    A group `zone_points.proven_safe` proves wholly safe keeps every cell; the others go to `protect_zone_group`.
    A group it does not prove safe within its budget (or that its LPs call infeasible) is protected by the LP
    greedy instead (`protect.protect_cells`, on a copy of the delivery holding only those groups' cells: the same
    variables and rows in the same order, so the same LPs and the same choice as when the LP greedy protects the
    whole delivery), and what that leaves unresolved (an infeasible group included) is counted.
    """
    from .constraints import build_system
    from .protect import protect_cells, true_by_variable
    from .solve import components
    from .zone_points import proven_safe

    system = build_system(delivery, min_cell_rule)
    known = true_by_variable(system, truth)
    suppressed: list[Cell] = []
    to_lp_greedy: set[tuple[str, int]] = set()  # (table, line) of every cell of the groups the greedy gave back
    for variables, rows in components(system, set(range(len(system.lower)))):
        if proven_safe(system, variables, rows, known, delivery.min_cell):
            continue
        group = protect_zone_group(system, variables, rows, known, delivery, min_cell_rule)
        if group.unresolved != 0:  # the LP greedy starts again from the delivery's cells: the hides above are dropped
            to_lp_greedy.update((cell.table, cell.line) for v in variables for cell in system.cells[v])
            continue
        show_again(system, variables, rows, known, delivery, min_cell_rule, group)
        suppressed.extend(cell for _, cell in group.hidden)
    unresolved = 0
    if to_lp_greedy:
        tables = {code: [cell for cell in cells if (code, cell.line) in to_lp_greedy] for code, cells in delivery.tables.items()}
        protection = protect_cells(dataclasses.replace(delivery, tables=tables), min_cell_rule, jobs=1, final_audit=False)
        suppressed.extend(protection.suppressed)
        unresolved = protection.unresolved
    return sorted(suppressed, key=lambda cell: (cell.table, cell.line)), unresolved
