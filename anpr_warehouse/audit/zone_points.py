"""A zone group proven safe with few of its audit's LPs, from the true counts the generator knows.

Why this exists: the generator audits the two zone groups (T03-T06 of one zone, about 6,800 variables)
of every month it writes; often one of them has no cell at risk, yet its LPs cost about 0.5 CPU s. Its
greedy rounds (`protect.protect_cells`) must stay as they are for a group with a cell at risk (the
simplex's warm starts decide which optimal vertex, and so which binding cell gets hidden), so a cheaper
look may only ever skip a group it proves wholly safe (`proven_safe`), in two steps:

1. **bound propagation** (`propagated_bounds`): every row bounds each of its cells by the bounds of the
   others, repeated until nothing changes. The box it ends with holds every feasible point, so a
   confidential cell narrower than `min_cell` in it is at risk for certain: that group goes to the LPs
   at once (measured on the 40-location year: it names exactly the groups the LPs find cells at risk in,
   in 0.02 CPU s a group);
2. **feasible points** (`points_with_published_fixed`): most of the audit's LPs (the "push every
   unproven cell up / down" rounds of `solve.prove_in_aggregate`) only look for feasible points that show
   each confidential cell at two values `min_cell` apart. The generator knows one feasible point, the true
   counts p, and from it many more cheaply: with every published cell fixed at its true count the group's
   LP has only its confidential cells (about 600 columns instead of 6,800) and a solve costs a few
   milliseconds; each solution, completed by p, is a feasible point of the whole group. The cells these
   points leave unproven get the audit's own LPs on the whole group, seeded with the points.

A group is skipped only when every confidential cell is seen at two feasible values `min_cell` apart:
then the LPs would find no cell at risk in it either, and no later round touches it (a round hides only
cells of groups with a cell at risk), so the output is the same as without the skip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constraints import System, positions
from .solve import EPS, ComponentModel, Seen, SolveStats, _component, prove_in_aggregate

PROPAGATION_PASSES = 20  # bound propagation stops earlier once nothing changes (the measured groups: a few passes)


@dataclass(frozen=True)
class FlatRows:
    """The group's rows as flat arrays, one entry per (row, variable): what propagation works on."""

    row_of: np.ndarray  # the entry's row (position in `rows`)
    column: np.ndarray  # the entry's variable (position in `variables`)
    coef: np.ndarray
    row_lower: np.ndarray  # the entry's row's bounds
    row_upper: np.ndarray
    rows: int


def flat_rows(system: System, variables: list[int], rows: list[int]) -> FlatRows:
    chosen = [system.rows[r] for r in rows]
    row_of = np.repeat(np.arange(len(chosen)), [len(row.vars) for row in chosen])
    column = positions({v: i for i, v in enumerate(variables)}, (v for row in chosen for v in row.vars))
    coef = np.array([x for row in chosen for x in row.coefs])
    row_lower = np.array([row.lower for row in chosen])[row_of]
    row_upper = np.array([row.upper for row in chosen])[row_of]
    return FlatRows(row_of, column, coef, row_lower, row_upper, len(chosen))


def implied_bounds(flat: FlatRows, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each entry, the (low, high) its row implies for its variable given the box of the row's other variables."""
    coef, column, positive = flat.coef, flat.column, flat.coef > 0
    with np.errstate(invalid="ignore"):
        least = np.where(positive, coef * lower[column], coef * upper[column])  # each term's smallest value
        most = np.where(positive, coef * upper[column], coef * lower[column])
        others_least = _others(flat.row_of, least, flat.rows)
        others_most = _others(flat.row_of, most, flat.rows)
        term_high, term_low = flat.row_upper - others_least, flat.row_lower - others_most
        high = np.where(positive, term_high / coef, term_low / coef)
        low = np.where(positive, term_low / coef, term_high / coef)
    return np.nan_to_num(low, nan=-np.inf), np.nan_to_num(high, nan=np.inf)


def propagated_bounds(
    system: System, variables: list[int], rows: list[int], flat: FlatRows | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the group's variables (in the order of `variables`) implied by the rows, repeated (an outer box:
    every feasible point lies in it). `flat`: the group's `flat_rows`, when the caller keeps them (hiding a cell
    changes only bounds, never a row)."""
    flat = flat_rows(system, variables, rows) if flat is None else flat
    lower, upper = system.bounds(variables)
    for _ in range(PROPAGATION_PASSES):
        low, high = implied_bounds(flat, lower, upper)
        new_upper, new_lower = upper.copy(), lower.copy()
        np.minimum.at(new_upper, flat.column, high)
        np.maximum.at(new_lower, flat.column, low)
        if (new_upper == upper).all() and (new_lower == lower).all():
            break
        lower, upper = new_lower, new_upper
    return lower, upper


def certainly_at_risk(
    system: System, variables: list[int], rows: list[int], min_cell: int, flat: FlatRows | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local positions of the confidential cells narrower than `min_cell` in the propagated box, the box's lower
    and upper bounds): every feasible point lies in the box, so each such cell is at risk whatever the LPs say."""
    lower, upper = propagated_bounds(system, variables, rows, flat)
    secret = np.array([system.is_confidential(v) for v in variables])
    return np.flatnonzero(secret & (upper - lower < min_cell - EPS)), lower, upper


def _others(row_of: np.ndarray, terms: np.ndarray, rows: int) -> np.ndarray:
    """For each entry, the sum of the other terms of its row (infinite when another term is)."""
    infinite = np.isinf(terms)
    finite = np.where(infinite, 0.0, terms)
    total = np.bincount(row_of, finite, rows)[row_of] - finite
    others_infinite = np.bincount(row_of, infinite, rows)[row_of] - infinite > 0
    sign = np.sign(np.bincount(row_of, np.where(infinite, terms, 0.0).clip(-1, 1), rows))[row_of]
    return np.where(others_infinite, sign * np.inf, total)


def proven_safe(system: System, variables: list[int], rows: list[int], truth: np.ndarray, min_cell: int) -> bool:
    """Whether feasible points show every confidential cell of the group at two values `min_cell` apart."""
    if np.isnan(truth[variables]).any():
        return False  # true counts unknown (e.g. a location-day the network check left to the LPs)
    secret = np.array([system.is_confidential(v) for v in variables])
    if not secret.any():
        return False  # nothing to prove: leave the group to the LPs as it was
    if len(certainly_at_risk(system, variables, rows, min_cell)[0]):
        return False  # a cell at risk for certain
    points = points_with_published_fixed(system, variables, rows, truth, min_cell)
    if points is None:
        return False
    seen = Seen(points.min(axis=0), points.max(axis=0))
    model = ComponentModel(system, variables, rows)
    found, proof = _component(model, np.flatnonzero(secret), min_cell, SolveStats(), seen)
    return proof is not None and not found and not proof.pending


def known_point(system: System, variables: list[int], rows: list[int], truth: np.ndarray) -> np.ndarray | None:
    """The true counts of the group's variables, or None when they do not satisfy every bound and row.

    Why check: a point is only worth anything if it is feasible; true counts that do not fit what is
    published (a generator bug, or a correction's recalibration) must not prove anything.
    """
    p = truth[variables]
    if np.isnan(p).any() or not feasible(system, variables, rows, p[None, :])[0]:
        return None
    return p


def feasible(system: System, variables: list[int], rows: list[int], points: np.ndarray) -> np.ndarray:
    """Which points (one per row, columns in the order of `variables`) satisfy every bound and every row.

    Why every row and bound, for every point: a group is skipped on the strength of these points alone, so a
    point outside the feasible set (a solver's answer past its tolerance, or a model built wrongly) must never
    count (review: an earlier check looked at lower bounds only).
    """
    lower, upper = system.bounds(variables)
    ok = ((points >= lower - EPS) & (points <= upper + EPS)).all(axis=1)
    if not rows:
        return ok
    flat = flat_rows(system, variables, rows)
    if (flat.column < 0).any():
        raise ValueError("a row of the group names a variable outside it")
    totals = np.zeros((flat.rows, len(points)))
    np.add.at(totals, flat.row_of, flat.coef[:, None] * points[:, flat.column].T)
    at_entry = totals[flat.row_of]  # each row's totals, once per entry of it (every row has one)
    within = (at_entry >= flat.row_lower[:, None] - EPS) & (at_entry <= flat.row_upper[:, None] + EPS)
    return ok & within.all(axis=0)


def points_with_published_fixed(
    system: System, variables: list[int], rows: list[int], truth: np.ndarray, min_cell: int
) -> np.ndarray | None:
    """Feasible points of the group (one per row, columns in the order of `variables`): p and the solutions
    of the aggregate LPs with every published cell fixed at p; None when p is not feasible."""
    p = known_point(system, variables, rows, truth)
    if p is None:
        return None
    fixed = System(list(system.lower), list(system.upper), system.cells, system.rows)
    for value, var in zip(p.tolist(), variables):
        if system.is_published(var):
            fixed.lower[var] = fixed.upper[var] = value
    position = {var: i for i, var in enumerate(variables)}
    free = [var for var in variables if fixed.lower[var] < fixed.upper[var]]
    wanted = np.array([i for i, var in enumerate(free) if system.is_confidential(var)], dtype=np.int64)
    if not len(wanted):
        return p[None, :]
    model = ComponentModel(fixed, free, rows)
    proof = prove_in_aggregate(model, wanted, min_cell)
    if proof is None or not proof.points:
        return p[None, :]
    points = np.tile(p, (len(proof.points) + 1, 1))
    points[1:, [position[var] for var in free]] = np.array(proof.points)
    return points[feasible(system, variables, rows, points)]  # p itself always is (known_point)
