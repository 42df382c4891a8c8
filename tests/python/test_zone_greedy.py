"""The generator's vertex-free greedy for the zone groups (audit/zone_greedy.py), checked by the LP audit.

Its result must leave nothing at risk for the LP audit (`audit_cells` with the min-cell rule), and its
safety must rest on the final proof (points and LPs), never on bound propagation alone: a hand-made group
that propagation calls safe has a cell pinned exactly, which only the proof finds.
"""

from __future__ import annotations

import dataclasses
import math

import duckdb
import numpy as np
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit import zone_greedy
from anpr_warehouse.audit.cells import Cell, DeliveryCells
from anpr_warehouse.audit.constraints import ZONE_TABLES, Row, System, cell_bounds
from anpr_warehouse.audit.protect import _protected, protect_cells
from anpr_warehouse.audit.run import audit_cells
from anpr_warehouse.audit.solve import ComponentModel, NoVerdict
from anpr_warehouse.audit.zone_greedy import GroupProtection, exact_points, protect_zone_cells, protect_zone_group
from anpr_warehouse.audit.zone_points import flat_rows, propagated_bounds
from anpr_warehouse.generate import GenerateRequest, protected_observations
from anpr_warehouse.generate.audit_pass import delivery_cells, true_values

from .test_zone_points import BASE, MIN_CELL, month  # noqa: F401  (the generated March, linked rules only, with true counts)


def _audit_after(delivery, suppressed):
    """The LP audit (min-cell rule) of the delivery with the greedy's cells hidden: the cells still at risk."""
    replaced = {(cell.table, cell.line): dataclasses.replace(cell, value=None, attribute="Confidential") for cell in suppressed}
    protected = _protected(delivery, replaced, suppressed, 0, 0, True, 1, False).delivery
    return audit_cells(protected, min_cell_rule=True).at_risk


def test_the_greedy_leaves_nothing_at_risk_for_the_lp_audit(month):  # noqa: F811
    delivery, truth, _, _ = month
    assert audit_cells(delivery, min_cell_rule=True).at_risk  # the month has cells at risk after the linked rules
    suppressed, unresolved = protect_zone_cells(delivery, truth)
    assert suppressed and unresolved == 0
    assert _audit_after(delivery, suppressed) == []
    again, _ = protect_zone_cells(delivery, truth)
    assert [(cell.table, cell.line) for cell in again] == [(cell.table, cell.line) for cell in suppressed]  # deterministic


def _hand_made_group():
    """x1 + x2 = y, x1 - x2 = 0, y published as 10 (rounding base 1): x1 = x2 = 5 exactly, yet bound propagation
    stalls at the box [0, 10] for both, as wide as min_cell 10, so it sees nothing at risk."""
    secret = [Cell("T03", line, "M_VEHICLES", ("Z", str(line)), None, "Confidential") for line in (2, 3)]
    total = Cell("T03", 4, "M_VEHICLES", ("Z", c.TOTAL), 10, "None")
    system = System([0.0, 0.0, 10.0], [math.inf, math.inf, 10.0], [[secret[0]], [secret[1]], [total]])
    system.rows = [Row((0, 1, 2), (1.0, 1.0, -1.0), 0.0, 0.0, "x1 + x2 = y"), Row((0, 1), (1.0, -1.0), 0.0, 0.0, "x1 = x2")]
    delivery = DeliveryCells("hand-made", 10, 1, {"T03": secret + [total]})
    return system, delivery, np.array([5.0, 5.0, 10.0]), total


def test_the_final_proof_finds_what_propagation_cannot(monkeypatch):
    system, delivery, truth, total = _hand_made_group()
    lower, upper = propagated_bounds(system, [0, 1, 2], [0, 1])
    assert (upper[:2] - lower[:2] >= 10).all()  # propagation alone: nothing at risk
    group = protect_zone_group(system, [0, 1, 2], [0, 1], truth, delivery, True)
    assert [cell for _, cell in group.hidden] == [total] and group.unresolved == 0 and group.lp_steps == 1
    system, delivery, truth, _ = _hand_made_group()
    monkeypatch.setattr(zone_greedy, "_at_risk_by_proof", lambda *args, **kwargs: None)  # the proof step skipped
    assert protect_zone_group(system, [0, 1, 2], [0, 1], truth, delivery, True).hidden == []  # x1 = 5 left exposed


def test_only_exactly_feasible_integer_points_count(month):  # noqa: F811
    _, truth, system, groups = month
    from anpr_warehouse.audit.protect import true_by_variable

    known = true_by_variable(system, truth)
    variables, rows = groups[0]
    p = known[variables]
    published = next(i for i, v in enumerate(variables) if system.is_published(v) and system.upper[v] > system.lower[v])
    outside = p.copy()
    outside[published] = system.upper[variables[published]] + 1  # outside its rounding range
    near = p + 0.3  # rounds back to p: kept as p, an integer
    points = exact_points(system, variables, flat_rows(system, variables, rows), np.vstack([p, outside, near]))
    assert len(points) == 2 and (points == p).all()


def test_showing_a_cell_again_keeps_it_hidden_when_the_proof_fails():
    system, delivery, truth, total = _hand_made_group()
    group = protect_zone_group(system, [0, 1, 2], [0, 1], truth, delivery, True)
    zone_greedy.show_again(system, [0, 1, 2], [0, 1], truth, delivery, True, group)
    assert [cell for _, cell in group.hidden] == [total]  # y shown again would pin x1 = x2 = 5
    assert system.is_confidential(2) and system.upper[2] == math.inf


def test_a_group_the_lp_calls_infeasible_is_left_unresolved(monkeypatch):
    """Review finding: an infeasible verdict proves nothing, yet it was counted as 0 cells at risk."""
    system, delivery, truth, _ = _hand_made_group()
    monkeypatch.setattr(ComponentModel, "extreme", lambda self, costs, first=False: ("infeasible", None))
    assert protect_zone_group(system, [0, 1, 2], [0, 1], truth, delivery, True).unresolved >= 1


def test_no_answer_from_the_solver_is_no_verdict_of_safe(monkeypatch):
    """Review finding: any status but optimal counted a cell as safe; only unboundedness proves that."""
    system, delivery, truth, _ = _hand_made_group()
    solve = ComponentModel.extreme
    calls = []

    def first_only(self, costs, first=False):
        calls.append(first)
        return solve(self, costs, first) if len(calls) == 1 else ("kUnknown", None)

    monkeypatch.setattr(ComponentModel, "extreme", first_only)
    with pytest.raises(NoVerdict, match="gave no answer"):
        protect_zone_group(system, [0, 1, 2], [0, 1], truth, delivery, True)


def test_showing_a_copy_again_leaves_the_other_copies_as_they_are():
    """Review finding: showing a cell again restored its variable's cell list from when it was hidden, which also
    published again a copy (T03-T06 share their zone totals) hidden after it, while the output kept that copy
    Confidential: the written state was never the proven one."""
    a = Cell("T03", 2, "M_VEHICLES", ("Z", "L"), 10, "None")
    b = Cell("T04", 2, "M_VEHICLES", ("Z", "L"), 10, "None")
    x = Cell("T03", 3, "M_VEHICLES", ("Z", "M"), None, "Confidential")
    t = Cell("T03", 4, "M_VEHICLES", ("Z", c.TOTAL), 30, "None")
    hidden_a, hidden_b = (dataclasses.replace(cell, value=None, attribute="Confidential") for cell in (a, b))
    system = System([0.0, 0.0, 25.0], [math.inf, math.inf, 35.0], [[hidden_a, hidden_b], [x], [t]])
    system.rows = [Row((0, 1, 2), (1.0, 1.0, -1.0), 0.0, 0.0, "v + x = t")]
    delivery = DeliveryCells("hand-made", 10, 5, {"T03": [a, x, t], "T04": [b]})
    group = GroupProtection(hidden=[(0, a), (0, b)])
    zone_greedy.show_again(system, [0, 1, 2], [0], np.array([12.0, 16.0, 28.0]), delivery, True, group)
    still_hidden = {(cell.table, cell.line) for _, cell in group.hidden}
    state = {(cell.table, cell.line): cell.attribute for cell in system.cells[0]}
    assert state == {key: "Confidential" if key in still_hidden else "None" for key in state}  # the proof saw the output
    low, high = (f(cell_bounds(cell, 2, 10)[i] for cell in system.cells[0]) for f, i in ((max, 0), (min, 1)))
    assert (system.lower[0], system.upper[0]) == (low, high)


def test_a_sparse_group_past_the_budget_is_put_back_and_given_to_the_lp_greedy(monkeypatch):
    """Measured: in a 5-location month (June 2025, seed 1) the greedy hides cell after cell (small zone totals,
    many published zeros: hiding what pins one cell puts the next at risk); unbounded, it took 177 CPU s and hid
    2,603 cells and still left 44 at risk. Past its budget the group goes to the LP greedy, which protects it from the delivery's cells,
    so the result is exactly the LP greedy's, and nothing is left at risk."""
    con = duckdb.connect()
    request = GenerateRequest("GM0344", 2025, 6, seed=1, locations=5, protection="linked")
    traffic, observations = protected_observations(con, request)
    grid = {cl.dimension: list(cl.identifiers) for cl in c.code_lists(2025).values() if cl.identifiers is not None}
    grid["Zone"] = [zone.identifier for zone in traffic.zones]
    zones = {code: relation for code, relation in observations.items() if code in ZONE_TABLES}
    delivery, truth = delivery_cells(con, zones, grid, MIN_CELL, BASE), true_values(con, zones)
    con.close()
    groups = []
    greedy = zone_greedy.protect_zone_group
    monkeypatch.setattr(zone_greedy, "protect_zone_group", lambda *args: groups.append(greedy(*args)) or groups[-1])
    suppressed, unresolved = protect_zone_cells(delivery, truth)
    assert [group.gave_up for group in groups] == [True]  # the month's one group at risk
    assert groups[0].steps == zone_greedy.MAX_STEPS  # the step budget ran out (measured: 116 steps unbounded)
    lp_greedy = protect_cells(delivery, True, 1, final_audit=False)
    assert [(x.table, x.line) for x in suppressed] == sorted((x.table, x.line) for x in lp_greedy.suppressed)
    assert unresolved == lp_greedy.unresolved == 0
    assert _audit_after(delivery, suppressed) == []


def test_with_no_proof_allowed_every_group_gets_exactly_the_lp_greedys_cells(month, monkeypatch):  # noqa: F811
    """The proof budget's exit: no group can be proven safe, so each group at risk goes to the LP greedy, on a copy
    holding only its cells, and the month's result is the LP greedy's on the whole delivery."""
    delivery, truth, _, _ = month
    monkeypatch.setattr(zone_greedy, "MAX_PROOFS", 0)
    suppressed, unresolved = protect_zone_cells(delivery, truth)
    lp_greedy = protect_cells(delivery, True, 1, final_audit=False)
    assert suppressed and [(x.table, x.line) for x in suppressed] == sorted((x.table, x.line) for x in lp_greedy.suppressed)
    assert unresolved == lp_greedy.unresolved == 0


def test_a_group_the_lp_calls_infeasible_is_counted_at_risk_by_the_generator(monkeypatch):
    """Review finding: such a group went to the LP greedy, which counted an infeasible group as 0 cells at risk, so
    the generator wrote it as safe. Each infeasible group now counts as unresolved."""
    cells = [  # T06 (Zone, VehicleCategory, VisitDayClass): V1 and V2 confidential, V3 = 20, total = 45
        Cell("T06", 2, "M_VEHICLES", ("Z1", "C1", "V1"), None, "Confidential"),
        Cell("T06", 3, "M_VEHICLES", ("Z1", "C1", "V2"), None, "Confidential"),
        Cell("T06", 4, "M_VEHICLES", ("Z1", "C1", "V3"), 20, "None"),
        Cell("T06", 5, "M_VEHICLES", ("Z1", "C1", c.TOTAL), 45, "None"),
    ]
    delivery = DeliveryCells("hand-made", 10, 5, {"T06": cells}, {"VisitDayClass": ("V1", "V2", "V3")})
    truth = {("T06", 2): 12, ("T06", 3): 13, ("T06", 4): 20, ("T06", 5): 45}
    assert protect_zone_cells(delivery, truth) == ([], 0)  # the plain answer: 12 + 13 = 25 leaves both safe
    monkeypatch.setattr(ComponentModel, "extreme", lambda self, costs, first=False: ("infeasible", None))
    assert protect_cells(delivery, True, 1, final_audit=False).unresolved == 1
    assert protect_zone_cells(delivery, truth) == ([], 1)


def test_a_group_stuck_in_an_earlier_round_still_counts_at_risk():
    """Review finding (protect_cells): a group at risk with nothing published to hide dropped out of the count once
    another group needed a second round, so the generator reported 0 cells at risk."""
    cells = [
        # Z1: parts confidential, the total Impossible (fixed 0): V1 = V2 = 0 exactly, nothing published to hide
        Cell("T06", 2, "M_VEHICLES", ("Z1", "C1", "V1"), None, "Confidential"),
        Cell("T06", 3, "M_VEHICLES", ("Z1", "C1", "V2"), None, "Confidential"),
        Cell("T06", 4, "M_VEHICLES", ("Z1", "C1", c.TOTAL), None, "Impossible"),
        # Z2: V1 = 45 - 20 - 20 = 5 exactly (rounding base 1): one published cell hidden, then safe
        Cell("T06", 5, "M_VEHICLES", ("Z2", "C1", "V1"), None, "Confidential"),
        Cell("T06", 6, "M_VEHICLES", ("Z2", "C1", "V2"), 20, "None"),
        Cell("T06", 7, "M_VEHICLES", ("Z2", "C1", "V3"), 20, "None"),
        Cell("T06", 8, "M_VEHICLES", ("Z2", "C1", c.TOTAL), 45, "None"),
    ]
    delivery = DeliveryCells("hand-made", 10, 1, {"T06": cells}, {"VisitDayClass": ("V1", "V2", "V3")})
    protection = protect_cells(delivery, True, 1, final_audit=True)
    assert protection.rounds == 2 and len(protection.suppressed) == 1
    assert sorted((a.cell.table, a.cell.line) for a in protection.audit.at_risk) == [("T06", 2), ("T06", 3)]
    assert protection.unresolved == 2
