"""`export --protect`'s choice of extra suppressions: the fewest, on hand-made deliveries whose answer is worked out here.

The deliveries are test_audit.py's (GM0344, one location, 2025-03-03, zone Z01); its docstring gives the numbers.

- T05 alone: the own-municipality total (true 48) is pinned to 48 by the zone total minus the other
  regions (at most 48) and by its category breakdown, BEST 50 with every other category 0 (at least 48).
  Hiding one of PV26/PV27/BUITENLAND leaves the breakdown pinning it to 48..52; hiding a 0 category
  leaves BEST alone at >= 48; so the one detail cell that frees it is BEST x GM_EIGEN (then both are
  32..48, width 16). The other way, the zone total, is a total (and published by all four zone tables).
- T01 + T02: the BEST day total (48) is pinned by T01's BEST hours (BEST H08 50, every other hour 0).
  Hiding BEST H08 alone leaves it pinned by its hour total (H08 50, the other categories 0); hiding
  another category at H08 too pins that cell by its own day total in T02 (20, with H09 published).
  A rectangle of four detail cells, H08 and H09 x BEST and another category, keeps every hour total and
  every day total satisfiable by moving passages around it: the fewest detail cells (the MIP's cuts prove
  no three do; totals cost more than all detail cells together, so none is considered first).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit import audit_cells
from anpr_warehouse.audit.cells import cells_from_path
from anpr_warehouse.audit.protect import protect_cells, protect_minimal
from anpr_warehouse.generate import GenerateRequest, generate_delivery

from .test_audit import DAY, LOC, ZONE, C, _t02_rows, known_tables, write_delivery


def _hidden(protection) -> set[tuple]:
    return {(cell.table, cell.measure) + cell.dims for cell in protection.suppressed}


@pytest.fixture(scope="module")
def known(tmp_path_factory) -> Path:
    return write_delivery(tmp_path_factory.mktemp("protect-known"), known_tables())


@pytest.mark.parametrize("min_cell_rule", [False, True])
def test_one_cell_at_risk_is_freed_by_exactly_the_one_detail_cell_that_pins_it(tmp_path, min_cell_rule):
    tables = known_tables()
    tables["T02"] = [r for r in _t02_rows() if r[-1] != C] + [("M_PASSAGES", LOC, DAY, "BEST", c.TOTAL, 50)]
    delivery = cells_from_path(write_delivery(tmp_path, tables))
    before = audit_cells(delivery, min_cell_rule)
    assert [(r.cell.table, r.cell.dims) for r in before.at_risk] == [("T05", (ZONE, c.TOTAL, "GM_EIGEN"))]

    protection = protect_minimal(delivery, min_cell_rule)
    assert _hidden(protection) == {("T05", "M_VEHICLES", ZONE, "BEST", "GM_EIGEN")}
    assert protection.audit.at_risk == [] and protection.unresolved == 0
    assert protection.audit.confidential == before.confidential + 1
    assert audit_cells(delivery, min_cell_rule).confidential == before.confidential  # the input stays as delivered


def test_the_link_disclosure_needs_a_rectangle_of_four_and_fewer_cells_than_greedy(known):
    delivery = cells_from_path(known)
    protection = protect_minimal(delivery, min_cell_rule=True)
    assert protection.audit.at_risk == [] and not protection.audit.notes and protection.unresolved == 0
    hidden = _hidden(protection)
    assert ("T05", "M_VEHICLES", ZONE, "BEST", "GM_EIGEN") in hidden
    t01 = sorted(key for key in hidden if key[0] == "T01")
    assert len(hidden) == 5 and len(t01) == 4
    assert {key[4] for key in t01} == {"H08", "H09"}  # two hours ...
    categories = {key[5] for key in t01}
    assert len(categories) == 2 and "BEST" in categories  # ... by BEST and one other category
    assert all(cell.attribute == "None" for cell in protection.suppressed)
    greedy = protect_cells(delivery, min_cell_rule=True)
    assert greedy.audit.at_risk == [] and len(greedy.suppressed) > len(protection.suppressed)


def test_a_generated_month_protected_table_by_table_audits_clean_after_protection(tmp_path):
    """One location, protected table by table as CBS does: cells at risk across tables; afterwards none, every group
    proven clean by its own rounds (greedy against minimal on such months: benchmarks/results.md)."""
    folder = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=3, locations=1, protection="table"), tmp_path)
    delivery = cells_from_path(folder)
    before = audit_cells(delivery, min_cell_rule=True, jobs=2)
    assert len(before.at_risk) > 0
    protection = protect_minimal(delivery, min_cell_rule=True, jobs=2)
    assert protection.unresolved == 0 and protection.audit.at_risk == [] and not protection.audit.infeasible_components
    assert protection.audit.confidential == before.confidential + len(protection.suppressed)
    assert {(cell.table, cell.line) for cell in protection.suppressed} <= {
        (cell.table, cell.line) for cells in delivery.tables.values() for cell in cells if cell.attribute == "None"
    }


def test_a_group_stopped_by_the_round_bound_is_finished_greedily(known, monkeypatch):
    """One master/check round per group cannot protect the link disclosure (the first choice hides one cell
    that is pinned itself): greedy rounds on top of that choice finish it, so the copy still audits clean."""
    from anpr_warehouse.audit import minimal

    monkeypatch.setattr(minimal, "MAX_ITERATIONS", 1)
    delivery = cells_from_path(known)
    protection = protect_minimal(delivery, min_cell_rule=True)
    assert protection.stats.unresolved > 0  # the bound did stop a group
    assert protection.unresolved == 0 and protection.audit.at_risk == []
    assert protection.audit.confidential == 5 + len(protection.suppressed)
    assert len({(cell.table, cell.line) for cell in protection.suppressed}) == len(protection.suppressed)
