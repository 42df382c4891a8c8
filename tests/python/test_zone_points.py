"""The zone groups' proof from true counts (audit/zone_points.py) against the LP audit, on a generated month.

The generator's audited pass skips a zone group's LPs when `proven_safe` says so, and promises the same
output as without the skip; so a group it proves safe must be one where the LP audit finds nothing at
risk, a cell the bound propagation calls at risk must be one the LPs find at risk, and the greedy
protection with the true counts must hide exactly the cells it hides without them.
"""

from __future__ import annotations

import duckdb
import highspy
import numpy as np
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit.constraints import ZONE_TABLES, Row, System, build_system
from anpr_warehouse.audit.protect import protect_cells, true_by_variable
from anpr_warehouse.audit.solve import ComponentModel, NoVerdict, SolveStats, _component, components, solve_groups
from anpr_warehouse.audit.zone_points import feasible, known_point, propagated_bounds, proven_safe
from anpr_warehouse.generate import GenerateRequest, protected_observations
from anpr_warehouse.generate.audit_pass import delivery_cells, true_values

MIN_CELL, BASE = 10, 5


@pytest.fixture(scope="module")
def month():
    """The zone tables of a 40-location month as the audited pass gets them (linked rules only), with true counts.

    March 2025, seed 1: one zone group has cells at risk after the linked rules, the other none (measured).
    """
    con = duckdb.connect()
    request = GenerateRequest("GM0344", 2025, 3, seed=1, locations=40, protection="linked")
    traffic, observations = protected_observations(con, request)
    grid = {cl.dimension: list(cl.identifiers) for cl in c.code_lists(2025).values() if cl.identifiers is not None}
    grid["Zone"] = [zone.identifier for zone in traffic.zones]  # the code lists as the generator passes them
    zones = {code: relation for code, relation in observations.items() if code in ZONE_TABLES}
    delivery = delivery_cells(con, zones, grid, MIN_CELL, BASE)
    truth = true_values(con, zones)
    con.close()
    system = build_system(delivery, min_cell_rule=True)
    return delivery, truth, system, components(system, set(range(len(system.lower))))


def test_true_counts_fit_every_bound_and_row_and_lie_in_the_propagated_box(month):
    _, truth, system, groups = month
    known = true_by_variable(system, truth)
    assert not np.isnan(known).any()
    for variables, rows in groups:
        p = known_point(system, variables, rows, known)
        assert p is not None
        lower, upper = propagated_bounds(system, variables, rows)
        assert (lower <= p + 1e-9).all() and (p <= upper + 1e-9).all()


def test_a_group_proven_safe_has_nothing_at_risk_and_propagation_names_only_cells_at_risk(month):
    delivery, truth, system, groups = month
    known = true_by_variable(system, truth)
    proven = [proven_safe(system, variables, rows, known, MIN_CELL) for variables, rows in groups]
    assert proven.count(True) == 1  # the measured month: one zone group safe as it is, one not
    for (variables, rows), safe in zip(groups, proven):
        at_risk = {interval.var for interval in solve_groups(system, [(variables, rows)], MIN_CELL, SolveStats())}
        lower, upper = propagated_bounds(system, variables, rows)
        narrow = {var for var, low, high in zip(variables, lower, upper) if system.is_confidential(var) and high - low < MIN_CELL}
        assert narrow <= at_risk
        assert bool(at_risk) == (not safe)


def test_true_counts_that_do_not_fit_prove_nothing(month):
    _, truth, system, groups = month
    known = true_by_variable(system, truth)
    variables, rows = next(group for group in groups if proven_safe(system, *group, known, MIN_CELL))
    published = next(v for v in variables if system.is_published(v) and system.upper[v] > 0)
    wrong = known.copy()
    wrong[published] = system.upper[published] + 1  # outside its rounding range: not a feasible point
    assert known_point(system, variables, rows, wrong) is None
    assert not proven_safe(system, variables, rows, wrong, MIN_CELL)


def test_greedy_protection_with_true_counts_hides_exactly_the_same_cells(month):
    delivery, truth, _, _ = month
    plain = protect_cells(delivery, min_cell_rule=True, final_audit=False)
    with_truth = protect_cells(delivery, min_cell_rule=True, final_audit=False, truth=truth)
    assert plain.suppressed  # the month has cells at risk after the linked rules
    assert [(cell.table, cell.line) for cell in with_truth.suppressed] == [(cell.table, cell.line) for cell in plain.suppressed]
    assert (with_truth.rounds, with_truth.unresolved) == (plain.rounds, plain.unresolved) == (plain.rounds, 0)


def _two_cells() -> System:
    """x0 + x1 = 3 with 0 <= x <= 10, and x0 = x2 where x2 (3..5) is a third variable."""
    rows = [Row((0, 1), (1.0, 1.0), 3.0, 3.0, "x0+x1=3"), Row((0, 2), (1.0, -1.0), 0.0, 0.0, "x0=x2")]
    return System([0.0, 0.0, 3.0], [10.0, 10.0, 5.0], [[], [], []], rows)


def test_a_point_counts_only_inside_every_bound_and_row():
    """Review finding: points were checked against their lower bounds only; a group is skipped on them alone."""
    points = np.array([[3.0, 0.0, 3.0], [4.0, 0.0, 4.0], [3.0, 0.0, 6.0], [11.0, -8.0, 11.0], [3.5, -0.5, 3.5]])
    assert feasible(_two_cells(), [0, 1, 2], [0, 1], points).tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="outside it"):
        feasible(_two_cells(), [0, 1], [0, 1], points[:, :2])


def test_a_model_refuses_a_row_naming_a_variable_it_does_not_hold():
    """Review finding: such a row made HiGHS drop every row, and the model then solved without constraints
    (maximising x0 gave 10 instead of 3), so its solutions could have proven cells safe wrongly."""
    with pytest.raises(ValueError, match="neither a column of the model nor fixed"):
        ComponentModel(_two_cells(), [0, 1], [0, 1])


def test_a_groups_model_and_bounds_follow_its_own_order_of_variables():
    """A group's variables are a few of the delivery's, in any order: its bounds and its model's columns are
    looked up per variable (not through arrays as long as the whole system), so check both on an unsorted group."""
    rows = [Row((4, 2), (1.0, -1.0), 1.0, 1.0, "x4 = x2 + 1"), Row((0, 1), (1.0, 1.0), 1.0, 1.0, "another group")]
    system = System([0.0, 0.0, 2.0, 0.0, 0.0], [1.0, 1.0, 5.0, 9.0, 4.0], [[] for _ in range(5)], rows)
    lower, upper = system.bounds([4, 2])
    assert lower.tolist() == [0.0, 2.0] and upper.tolist() == [4.0, 5.0]
    assert [array.tolist() for array in system.bounds(np.array([], dtype=np.int64))] == [[], []]
    model = ComponentModel(system, [4, 2], [0])
    low = model.extreme(np.array([1.0, 0.0]), first=True)[1]  # min x4: x4 = x2 + 1 >= 3 (columns swapped: 1)
    high = model.extreme(np.array([0.0, -1.0]))[1]  # max x2: x2 = x4 - 1 <= 3 (columns swapped: 4)
    assert low.tolist() == [3.0, 2.0] and high.tolist() == [4.0, 3.0]


def test_no_answer_from_the_solver_is_no_verdict_of_safe(monkeypatch):
    """Review finding: a cell's LP that ended neither optimal nor unbounded counted the cell as safe."""
    rows = [Row((0, 1, 2), (1.0, 1.0, -1.0), 0.0, 0.0, "x1 + x2 = y"), Row((0, 1), (1.0, -1.0), 0.0, 0.0, "x1 = x2")]
    system = System([0.0, 0.0, 10.0], [np.inf, np.inf, 10.0], [[], [], []], rows)  # x1 = x2 = 5 exactly
    model = ComponentModel(system, [0, 1, 2], [0, 1], keep=frozenset({2}))
    found, _ = _component(model, np.array([0, 1]), 10, SolveStats())
    assert [(i.lower, i.upper) for i in found] == [(5, 5), (5, 5)]  # the plain answer: both pinned
    solve, calls = ComponentModel.extreme, []

    def first_only(self, costs, first=False):
        calls.append(first)
        return solve(self, costs, first) if len(calls) == 1 else ("kUnknown", None)

    monkeypatch.setattr(ComponentModel, "extreme", first_only)
    with pytest.raises(NoVerdict, match="gave no answer"):
        _component(ComponentModel(system, [0, 1, 2], [0, 1], keep=frozenset({2})), np.array([0, 1]), 10, SolveStats())


class _AmbiguousFirst:
    """A HiGHS stand-in whose first `times` statuses are "unbounded or infeasible" (as presolve may say), then the
    real ones."""

    def __init__(self, highs, times: int = 1):
        self._highs, self._asked, self._times = highs, 0, times

    def __getattr__(self, name):
        return getattr(self._highs, name)

    def getModelStatus(self):  # noqa: N802  (HiGHS's name)
        self._asked += 1
        ambiguous = highspy.HighsModelStatus.kUnboundedOrInfeasible
        return ambiguous if self._asked <= self._times else self._highs.getModelStatus()


def test_unbounded_or_infeasible_is_decided_before_any_cell_is_called_safe():
    """An infeasible group whose first LP HiGHS calls "unbounded or infeasible": taken as unbounded, every cell of
    it was safe (no cell at risk, no infeasible group reported); decided by a feasibility LP, it is infeasible."""
    rows = [Row((0, 1, 2), (1.0, 1.0, -1.0), 0.0, 0.0, "x1 + x2 = y"), Row((0,), (1.0,), 20.0, 20.0, "x1 = 20")]
    system = System([0.0, 0.0, 10.0], [np.inf, np.inf, 10.0], [[], [], []], rows)  # x1 = 20 > y = 10: no point
    model = ComponentModel(system, [0, 1, 2], [0, 1], keep=frozenset({2}))
    model.highs = _AmbiguousFirst(model.highs)
    stats = SolveStats()
    found, proof = _component(model, np.array([0, 1]), 10, stats)
    assert (found, proof, stats.infeasible_components) == ([], None, 1)


def test_a_feasibility_lp_without_a_verdict_is_no_verdict():
    """Review gap: when the feasibility LP itself ends ambiguous, nothing is known, and nothing may be called safe."""
    rows = [Row((0, 1, 2), (1.0, 1.0, -1.0), 0.0, 0.0, "x1 + x2 = y")]
    system = System([0.0, 0.0, 8.0], [np.inf, np.inf, 12.0], [[], [], []], rows)
    model = ComponentModel(system, [0, 1, 2], [0], keep=frozenset({2}))
    model.highs = _AmbiguousFirst(model.highs, times=2)
    with pytest.raises(NoVerdict, match="could not tell whether a group"):
        model.extreme(np.array([1.0, 0.0, 0.0]), first=True)
