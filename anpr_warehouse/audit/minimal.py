"""The fewest extra suppressions that leave no cell at risk: a MIP per group, with cuts from the audit's own LPs.

Why this shape: hiding a published cell only widens its variable's bounds (from its rounding
range to [0, inf)); the rows (totals, links) stay. So whether a choice of hidden cells is safe is
exactly the audit of the group with those bounds, and every LP of that audit comes with a dual
certificate that says how much each hidden cell could widen the interval it bounds. This is the
classic decomposition of cell suppression (Fischetti and Salazar; tau-ARGUS's "optimal" method):

1. master: a small MIP in HiGHS, one binary per published variable of the group that some cut
   names, minimising the cost of what it hides (below); no cuts: hide nothing;
2. check: the group's audit with the master's choice hidden; every confidential cell (CBS's and
   the newly hidden ones) must have a feasible interval at least `min_cell` wide;
3. each cell that fails gives a cut, from the reduced costs of its min and max LPs: its width
   W + sum(gain_v * z_v) - sum(loss_v * (1 - z_v)) >= min_cell (weak duality, so it holds for every
   choice; a published bound the optimum sits on that hiding lifts to infinity counts as "enough").
   A cut for a newly hidden cell only applies while that cell is hidden;
4. repeat until the check finds nothing at risk: then the master's choice is optimal for the
   cuts, which every safe choice satisfies, so no safe choice is cheaper. Bounded by MAX_ITERATIONS.

Cost (stated in docs/disclosure-audit.md): lexicographic through the weights. A total (a cell with
T001 in a dimension) costs more than all detail cells of its group together, so totals are hidden only
when no choice of detail cells protects; then the number of cells hidden (a number several tables
publish, like a T03-T06 zone total, counts once per copy); then, among equally few cells, the smallest values.

Groups (location-days, zones) are independent: they run on all cores.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from .. import contract as c
from .constraints import System
from .solve import EPS, ComponentModel, Proof, components, prove_in_aggregate

MAX_ITERATIONS = 60  # master / check rounds per group; the measured months need far fewer (benchmarks/results.md)
DUAL_EPS = 1e-7
MAX_POINTS = 256  # feasible points a group keeps between rounds (the latest; 6,800 x 256 floats is 14 MB)
POINT_TOLERANCE = 1e-6  # HiGHS's solutions meet their bounds to its feasibility tolerance (1e-7)


@dataclass(frozen=True)
class Cut:
    """sum(coefs[v] * z_v) >= rhs over the group's suppressible variables."""

    coefs: dict[int, float]
    rhs: float


@dataclass
class GroupResult:
    suppressed: list[int]  # variables whose published copies are hidden
    iterations: int = 0
    lps: int = 0
    cuts: int = 0
    unresolved: int = 0  # cells at risk in the last check when MAX_ITERATIONS stopped the group (0: proven clean)
    infeasible: bool = False
    seconds: float = 0.0


@dataclass
class MinimalStats:
    groups: int = 0
    groups_changed: int = 0
    iterations_max: int = 0
    lps: int = 0
    cuts: int = 0
    unresolved: int = 0
    infeasible_groups: int = 0
    certified_groups: int = 0  # location-days the network check found safe as they are: nothing to hide, no MIP
    per_group: list[tuple[int, int, int]] = field(default_factory=list)  # (variables, iterations, hidden) of changed groups
    slowest: tuple[float, int, int] = (0.0, 0, 0)  # (seconds, variables, iterations) of the slowest group


def suppressible(system: System, var: int) -> bool:
    """A variable with a published copy and none that is `Impossible` (an impossible 0 stays 0)."""
    return system.is_published(var) and all(cell.attribute != "Impossible" for cell in system.cells[var])


def _costs(system: System, variables: list[int]) -> dict[int, float]:
    """Totals last, then fewest cells, then smallest values; see the module docstring."""
    candidates = [v for v in variables if suppressible(system, v)]
    copies = {v: sum(cell.attribute == "None" for cell in system.cells[v]) for v in candidates}
    value = {v: max(cell.value or 0 for cell in system.cells[v] if cell.attribute == "None") for v in candidates}
    is_total = {v: any(c.TOTAL in cell.dims for cell in system.cells[v]) for v in candidates}
    detail_cells = sum(copies[v] for v in candidates if not is_total[v])
    tie_break = 1.0 / (sum(value.values()) + 1.0)  # all values together weigh less than one cell
    return {v: copies[v] * ((detail_cells + 1) if is_total[v] else 1) + value[v] * tie_break for v in candidates}


class GroupProtector:
    """One group's HiGHS model (every suppressible variable a column) whose bounds follow the master's choice."""

    def __init__(self, system: System, variables: list[int], rows: list[int], min_cell: int):
        self.system = system
        self.min_cell = min_cell
        self.costs = _costs(system, variables)
        self.model = ComponentModel(system, variables, rows, keep=frozenset(self.costs))
        self.variables = np.array(list(self.costs), dtype=np.int64)  # the suppressible variables, in column order
        self.columns = np.array([self.model.local[v] for v in self.costs], dtype=np.int32)
        self.hidden_mask = np.zeros(len(self.columns), dtype=bool)
        self.lower = np.array([system.lower[v] for v in self.costs])
        self.upper = np.array([system.upper[v] for v in self.costs])
        self.confidential = [self.model.local[v] for v in variables if system.is_confidential(v)]
        self.first = True
        # every column's bounds now, and the feasible points of earlier checks (rows never change, only bounds)
        self.col_lower = np.array([system.lower[v] for v in variables])
        self.col_upper = np.array([system.upper[v] for v in variables])
        self.points = np.empty((0, self.model.n))

    def _hide(self, hidden: set[int]) -> None:
        self.hidden_mask = np.array([v in hidden for v in self.costs], dtype=bool)
        lower = np.where(self.hidden_mask, 0.0, self.lower)
        upper = np.where(self.hidden_mask | np.isinf(self.upper), highspy.kHighsInf, self.upper)
        if len(self.columns):
            self.model.highs.changeColsBounds(len(self.columns), self.columns, lower, upper)
        self.col_lower[self.columns] = lower
        self.col_upper[self.columns] = np.where(self.hidden_mask, np.inf, self.upper)

    def _feasible_points(self) -> np.ndarray:
        """The earlier checks' points that lie within today's bounds: feasible now, so what they prove holds.

        The master may show again a cell it hid before, so not every earlier point stays feasible;
        those that do spare most of the aggregate LPs (measured: they were 90 % of a zone group's time).
        """
        inside = (self.points >= self.col_lower - POINT_TOLERANCE) & (self.points <= self.col_upper + POINT_TOLERANCE)
        return self.points[inside.all(axis=1)]

    def _keep(self, proof: Proof) -> None:
        if proof.points:
            self.points = np.vstack([self.points, np.array(proof.points)])[-MAX_POINTS:]

    def check(self, hidden: set[int]) -> list[Cut] | None:
        """The group's audit with `hidden` hidden: a cut per cell at risk ([] when clean, None when infeasible)."""
        self._hide(hidden)
        wanted = np.array(sorted(set(self.confidential) | {self.model.local[v] for v in hidden}), dtype=np.int64)
        if not len(wanted):
            return []
        proof = prove_in_aggregate(self.model, wanted, self.min_cell, first=self.first, points=self._feasible_points())
        self.first = False
        if proof is None:
            return None
        cuts = []
        costs = np.zeros(self.model.n)
        for i in sorted(proof.pending):
            if i not in proof.pending:
                continue  # proven safe by a point found for another cell
            extremes = []
            for sign in (1.0, -1.0):  # minimise, then maximise
                costs[:] = 0.0
                costs[i] = sign
                status, x = self.model.extreme(costs)
                if status != "optimal":
                    break  # unbounded: safe
                proof.observe(x)
                extremes.append((x[i], np.array(self.model.highs.getSolution().col_dual)))
                if i not in proof.pending:
                    break
            if i in proof.pending and len(extremes) == 2 and extremes[1][0] - extremes[0][0] < self.min_cell - EPS:
                cuts.append(self._cut(i, extremes[1][0] - extremes[0][0], [dual for _, dual in extremes], hidden))
            proof.pending.discard(i)
        self._keep(proof)
        return cuts

    def _cut(self, i: int, width: float, duals: list[np.ndarray], hidden: set[int]) -> Cut:
        """Weak duality: for any choice z, width(z) <= width + sum(gain * z) - sum(loss * (1 - z)) over hidden cells."""
        shown = ~self.hidden_mask
        gain = np.zeros(len(self.columns))
        loss = np.zeros(len(self.columns))
        lifted = np.zeros(len(self.columns), dtype=bool)
        for dual in duals:  # both LPs minimise (x_i, then -x_i); widening lowers either optimum
            rc = dual[self.columns]
            at_lower = rc > DUAL_EPS
            loss += np.where(self.hidden_mask & at_lower, rc * self.lower, 0.0)  # shown again: 0 back up to its bound
            gain += np.where(shown & at_lower, rc * self.lower, 0.0)  # hidden: its lower bound drops to 0
            lifted |= shown & (rc < -DUAL_EPS)  # on its upper (rounding) bound: hiding lifts it to infinity
        big = self.min_cell + float(loss.sum())  # enough to satisfy the cut whatever else is chosen
        coefs = np.where(lifted, big, np.minimum(gain, big)) + loss  # - loss * (1 - z) moved to the right-hand side
        rhs = self.min_cell - width + float(loss.sum())
        terms = {int(self.variables[j]): float(coefs[j]) for j in np.flatnonzero(coefs > DUAL_EPS)}
        var = self.model.variables[i]
        if not self.system.is_confidential(var):  # a newly hidden cell needs protecting only while hidden
            terms[var] = terms.get(var, 0.0) - big
            rhs -= big
        return Cut(terms, rhs)


def _master(costs: dict[int, float], cuts: list[Cut]) -> set[int] | None:
    """The cheapest choice that satisfies every cut so far (None: no choice does)."""
    columns = sorted({v for cut in cuts for v in cut.coefs})
    if not columns:
        return None
    local = {v: j for j, v in enumerate(columns)}
    highs = highspy._core._Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 1e-9)
    n = len(columns)
    highs.addVars(n, np.zeros(n), np.ones(n))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.array([costs[v] for v in columns]))
    highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    for cut in cuts:
        indices = np.array([local[v] for v in cut.coefs], dtype=np.int32)
        highs.addRow(cut.rhs, highspy.kHighsInf, len(indices), indices, np.array(list(cut.coefs.values())))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return {v for v, z in zip(columns, highs.getSolution().col_value) if z > 0.5}


def protect_group(system: System, variables: list[int], rows: list[int], min_cell: int) -> GroupResult:
    started = time.perf_counter()
    protector = GroupProtector(system, variables, rows, min_cell)
    hidden: set[int] = set()
    cuts: list[Cut] = []
    result = GroupResult([])
    while result.iterations < MAX_ITERATIONS:
        result.iterations += 1
        found = protector.check(hidden)
        if found is None:
            result.infeasible = True
            break
        if not found:
            result.unresolved = 0
            break
        cuts.extend(found)
        result.unresolved = len(found)
        chosen = _master(protector.costs, cuts)
        if chosen is None:  # nothing published left to hide would do (cannot happen while a cut names a variable)
            break
        hidden = chosen
    result.suppressed = sorted(hidden)
    result.lps = protector.model.lps
    result.cuts = len(cuts)
    result.seconds = time.perf_counter() - started
    return result


_SYSTEM: System | None = None  # inherited by forked workers, never pickled


def _protect_one(job: tuple[list[int], list[int], int]) -> tuple[int, GroupResult]:
    variables, rows, min_cell = job
    return len(variables), protect_group(_SYSTEM, variables, rows, min_cell)


def minimal_suppression(system: System, min_cell: int, jobs: int = 1) -> tuple[list[int], MinimalStats]:
    """Variables to hide, group by group (largest groups first, over forked processes when jobs > 1).

    A full location-day that the exact network check (`location_days.certified_groups`) certifies has no
    cell at risk with nothing more hidden, so its minimal choice is the empty one: it skips the MIP and
    its audit LPs (about twenty per location-day) for one LP.
    """
    global _SYSTEM
    from .location_days import certified_groups

    confidential = {v for v in range(len(system.lower)) if system.is_confidential(v)}
    groups = components(system, confidential)
    certified = certified_groups(system, groups, min_cell, jobs)
    groups = sorted((g for i, g in enumerate(groups) if i not in certified), key=lambda g: -len(g[0]))
    work = [(variables, rows, min_cell) for variables, rows in groups]
    _SYSTEM = system
    try:
        if jobs > 1 and len(work) > 1:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                # one group per task: the few zone groups take most of the time, and a chunk of them would
                # queue them behind each other in one worker (measured: the two zone groups ran one after the other)
                results = list(pool.imap_unordered(_protect_one, work, chunksize=1))
        else:
            results = [_protect_one(job) for job in work]
    finally:
        _SYSTEM = None
    stats = MinimalStats(groups=len(work) + len(certified), certified_groups=len(certified))
    hidden: list[int] = []
    for size, result in results:
        hidden.extend(result.suppressed)
        stats.lps += result.lps
        stats.cuts += result.cuts
        stats.unresolved += result.unresolved
        stats.infeasible_groups += result.infeasible
        stats.iterations_max = max(stats.iterations_max, result.iterations)
        stats.slowest = max(stats.slowest, (result.seconds, size, result.iterations))
        if result.suppressed:
            stats.groups_changed += 1
            stats.per_group.append((size, result.iterations, len(result.suppressed)))
    return sorted(hidden), stats
