"""The network check of the location-day groups (audit/location_days.py) against the LP audit, on generated months.

The check replaces the LP audit of T01 x T02 in the generator's audited pass, so it must find exactly what
the LP audit finds: the same location-days and, inside them, the same cells at risk.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit import location_days as ld
from anpr_warehouse.audit.cells import Cell
from anpr_warehouse.audit.constraints import build_system, cell_bounds
from anpr_warehouse.audit.run import audit_cells
from anpr_warehouse.audit.solve import SolveStats, components, solve_intervals
from anpr_warehouse.generate import GenerateRequest, protected_observations
from anpr_warehouse.generate.audit_pass import delivery_cells, location_days_to_audit, protect_observations

from .location_days_oracle import exact_widths

MIN_CELL, BASE = 10, 5
CATEGORIES = sorted(c.VEHICLE_CATEGORIES) + [c.TOTAL]  # the check's order: identifiers sorted, the total last
FUELS = sorted(c.FUEL_TYPES) + [c.TOTAL]


def _grid() -> dict[str, list[str]]:
    return {cl.dimension: list(cl.identifiers) for cl in c.code_lists(2025).values() if cl.identifiers is not None}


def _month(protection: str, locations: int, seed: int = 1):
    con = duckdb.connect()
    request = GenerateRequest("GM0344", 2025, 3, seed=seed, locations=locations, protection=protection)
    _, observations = protected_observations(con, request)
    return con, observations


def _lp_at_risk(con, observations) -> set[tuple]:
    delivery = delivery_cells(con, {k: observations[k] for k in ("T01", "T02")}, _grid(), MIN_CELL, BASE)
    result = audit_cells(delivery, min_cell_rule=True)
    assert result.infeasible_components == 0
    return {(a.cell.table,) + a.cell.dims for a in result.at_risk}


def _label(location: str, date: str, flat: int) -> tuple:
    hours_cells = len(c.HOURS) * len(CATEGORIES)
    if flat < hours_cells:
        hour, category = divmod(flat, len(CATEGORIES))
        return ("T01", location, date, c.HOURS[hour], CATEGORIES[category])
    category, fuel = divmod(flat - hours_cells, len(FUELS))
    return ("T02", location, date, CATEGORIES[category], FUELS[fuel])


def _network_at_risk(days: ld.LocationDays, groups: list[int]) -> set[tuple]:
    found = set()
    for g in groups:
        secret = np.concatenate([days.secret1[g].ravel(), days.secret2[g].ravel()])
        cells = np.nonzero(secret)[0].tolist()
        widths = exact_widths(days, g, cells, MIN_CELL)
        found |= {_label(*days.keys[g], e) for e, w in zip(cells, widths) if w < MIN_CELL}
    return found


def test_read_places_every_cell_where_a_join_on_the_dimensions_sorted_as_text_does():
    """The read joins observations to cells on Id = cell_id and places cells by small codes: the same arrays as the
    plain join on every dimension, sorted by location, date and the inner dimensions (totals last)."""
    con, observations = _month("linked", 2)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    inner = {
        "T01": "Hour, VehicleCategory = 'T001', VehicleCategory",
        "T02": "VehicleCategory = 'T001', VehicleCategory, FuelType = 'T001', FuelType",
    }
    for code, arrays in (
        ("T01", (days.true1, days.low1, days.high1, days.secret1)),
        ("T02", (days.true2, days.low2, days.high2, days.secret2)),
    ):
        dims = ", ".join(c.OBSERVATION_TABLES[code].dimensions)
        rows = con.execute(
            f"""select c.passages, o.Value, o.ValueAttribute from cells_{code} c join {observations[code]} o using ({dims})
                order by Location, Date, {inner[code]}"""
        ).fetchall()
        values = np.array([np.nan if value is None else value for _, value, _ in rows], dtype=float)
        low, high, secret = ld.cell_bounds_array(values, np.array([row[2] for row in rows]), BASE // 2, MIN_CELL)
        expected = (np.array([row[0] for row in rows], dtype=float), low, high, secret)
        for got, want in zip(arrays, expected):
            assert np.array_equal(got.ravel(), want)
    assert days.secret1.any() and days.secret2.any() and len(days.keys) == 2 * 31
    con.execute(f"create temp view shifted_T02 as select * replace (Id + 1 as Id) from {observations['T02']}")
    shifted = dict(observations, T02="shifted_T02")  # observations that are not their cells' own: no layout, no check
    assert ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, shifted, MIN_CELL, BASE) is None


@pytest.mark.parametrize("locations,seed", [(2, 1), (3, 2)])
def test_network_check_finds_exactly_the_cells_the_lp_audit_finds(locations, seed):
    """Tables protected one by one leave hundreds of location-day cells at risk: the check names the same ones."""
    con, observations = _month("table", locations, seed)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    certificate = ld.certify(days, MIN_CELL)
    lp = _lp_at_risk(con, observations)
    assert len(lp) > 100  # measured: 368 and 557
    assert {days.keys[g] for g in certificate.uncertified} == {(cell[1], cell[2]) for cell in lp}
    assert _network_at_risk(days, certificate.uncertified) == lp
    assert ld.feasible(days).all()  # the true counts satisfy every published number and link


def test_batched_flows_give_the_exact_widths_cell_for_cell():
    """Step 2 runs every cell's flows at once (`batch_widths`): on a month with hundreds of cells at risk it reports
    min(width, min_cell) exactly as the plain flows do, for the cells step 1 leaves (from the paths' moves) and for
    every confidential cell from nothing known."""
    con, observations = _month("table", 2)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    _, pending = ld.unproven_cells(days, MIN_CELL)
    left = [(g, flat, up, down) for g, cells in sorted(pending.items()) for _, flat, up, down in cells]
    groups, flats = np.array([row[0] for row in left]), np.array([row[1] for row in left])
    known = np.array([row[2:] for row in left])
    plain = [
        w for g, cells in sorted(pending.items()) for w in exact_widths(days, g, [flat for _, flat, _, _ in cells], MIN_CELL)
    ]
    assert ld.batch_widths(days, groups, flats, known, MIN_CELL).tolist() == plain
    assert sum(w < MIN_CELL for w in plain) > 50  # the comparison covers cells at risk, not only safe ones
    secret = np.concatenate([days.secret1.reshape(len(days.keys), -1), days.secret2.reshape(len(days.keys), -1)], axis=1)
    groups, flats = np.nonzero(secret)
    plain = [w for g in range(len(days.keys)) for w in exact_widths(days, g, flats[groups == g].tolist(), MIN_CELL)]
    widths = ld.batch_widths(days, groups, flats, np.zeros((len(flats), 2)), MIN_CELL)
    assert widths.tolist() == plain
    assert len(plain) > 5000 and 0 < sum(w < MIN_CELL for w in plain) < len(plain)


def test_linked_month_is_certified_and_the_lp_agrees():
    """What the audited pass relies on: the linked rules' location-days are certified, mostly by the four-cell paths."""
    con, observations = _month("linked", 4)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    certificate = ld.certify(days, MIN_CELL)
    assert certificate.uncertified == []
    assert certificate.proven_by_paths > 0.8 * certificate.confidential
    assert _lp_at_risk(con, observations) == set()


def test_a_point_that_breaks_a_published_number_certifies_nothing_there():
    """The check proves safety from the true counts; where they do not fit what is published, it proves nothing."""
    con, observations = _month("linked", 2)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    days.true1[5, 10, 0] += 1  # one hour's count no longer adds up to its total
    assert ld.certify(days, MIN_CELL).uncertified == [5]


def test_audited_pass_protects_the_location_days_it_cannot_certify():
    """On a month with location-day cells at risk the pass hides cells until every location-day is certified."""
    con, observations = _month("table", 2)
    assert location_days_to_audit(con, observations, MIN_CELL, BASE)
    hidden, unresolved = protect_observations(con, observations, _grid(), MIN_CELL, BASE)
    assert hidden > 0 and unresolved == 0
    assert location_days_to_audit(con, observations, MIN_CELL, BASE) == []
    assert _lp_at_risk(con, observations) == set()


@pytest.mark.parametrize(
    "value,attribute", [(0, "None"), (5, "None"), (10, "None"), (1235, "None"), (None, "Confidential"), (None, "Impossible")]
)
def test_vectorised_bounds_are_the_audits_bounds(value, attribute):
    low, high, secret = ld.cell_bounds_array(np.array([value], dtype=float), np.array([attribute]), BASE // 2, MIN_CELL)
    expected = cell_bounds(Cell("T01", 2, "M_PASSAGES", (), value, attribute), BASE // 2, MIN_CELL)
    assert (float(low[0]), float(high[0])) == expected
    assert bool(secret[0]) == (attribute == "Confidential")
    assert math.isinf(expected[1]) == (attribute == "Confidential")


@pytest.mark.parametrize("protection,at_risk", [("table", True), ("linked", False)])
def test_audit_with_the_network_check_gives_the_lp_audits_intervals(protection, at_risk):
    """`anpr audit` sends full location-days to the network check (one LP each for its point): same answer as LPs alone."""
    con, observations = _month(protection, 2)
    system = build_system(delivery_cells(con, observations, _grid(), MIN_CELL, BASE), min_cell_rule=True)
    with_check, lps_only = SolveStats(), SolveStats()
    found = solve_intervals(system, MIN_CELL, with_check, network=True)
    expected = solve_intervals(system, MIN_CELL, lps_only, network=False)
    assert [(i.var, i.lower, i.upper) for i in found] == [(i.var, i.lower, i.upper) for i in expected]
    assert bool(expected) == at_risk
    assert with_check.components == lps_only.components
    assert with_check.lps < lps_only.lps


def test_network_check_over_jobs_certifies_the_same_location_days():
    """`anpr audit --jobs 2` splits the check over forked processes, 64 location-days a task: same answer as one process."""
    con, observations = _month("table", 3)  # 93 location-days: two tasks
    system = build_system(delivery_cells(con, observations, _grid(), MIN_CELL, BASE), min_cell_rule=True)
    groups = components(system, {v for v in range(len(system.lower)) if system.is_confidential(v)})
    alone = ld.certified_groups(system, groups, MIN_CELL, jobs=1)
    assert 0 < len(alone) < len(groups)  # some location-days certified, some at risk: the split has something to get wrong
    assert ld.certified_groups(system, groups, MIN_CELL, jobs=2) == alone


def test_protection_skips_certified_location_days_and_hides_the_same_cells(monkeypatch):
    """`export --protect` leaves the location-days the check certifies out of the MIP: the choice is the one it made
    with every group in the MIP (those groups hide nothing there either)."""
    from anpr_warehouse.audit import location_days, protect

    con, observations = _month("table", 3)  # the location-days alone (the zone groups take minutes)
    delivery = delivery_cells(con, {code: observations[code] for code in ("T01", "T02")}, _grid(), MIN_CELL, BASE)
    skipping = protect.protect_minimal(delivery, min_cell_rule=True, final_audit=False)
    assert skipping.stats.certified_groups > 0
    monkeypatch.setattr(location_days, "certified_groups", lambda *args, **kwargs: set())
    every_group = protect.protect_minimal(delivery, min_cell_rule=True, final_audit=False)
    assert every_group.stats.certified_groups == 0
    assert [(cell.table, cell.line) for cell in skipping.suppressed] == [
        (cell.table, cell.line) for cell in every_group.suppressed
    ]
    assert skipping.suppressed and skipping.unresolved == 0 == every_group.unresolved
    assert skipping.stats.lps < every_group.stats.lps


def test_step_one_proves_only_cells_whose_exact_width_reaches_min_cell():
    """Step 1 may prove fewer cells than exist, never more: on a month with cells at risk every width the paths
    show is at most the exact width (its flows are feasible points), cell for cell, and most cells are proven."""
    con, observations = _month("table", 2)
    days = ld.read_location_days(con, {"T01": "cells_T01", "T02": "cells_T02"}, observations, MIN_CELL, BASE)
    gi, ri, ci, widths, ups = ld.greedy_widths(days, MIN_CELL, chunk=1000)  # several chunks
    hours = len(c.HOURS)
    flat = np.where(ri < hours, ri * len(CATEGORIES) + ci, hours * len(CATEGORIES) + ci * len(FUELS) + (ri - hours))
    exact = np.zeros(len(gi))
    for g in np.unique(gi):
        exact[gi == g] = exact_widths(days, int(g), flat[gi == g].tolist(), MIN_CELL)
    assert (np.minimum(widths, MIN_CELL) <= exact).all()
    assert ((ups >= 0) & (ups <= widths)).all()
    assert (widths >= MIN_CELL).sum() > 0.8 * len(widths) and (exact < MIN_CELL).sum() > 50


def test_largest_first_is_the_stable_sort_of_the_negated_rows():
    """Step 1 sorts its paths by a unique key with the default sort: the same order as a stable sort, ties and inf too."""
    rng = np.random.default_rng(7)
    values = rng.integers(0, 12, size=(500, 32)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.inf
    assert np.array_equal(ld._largest_first(values), np.argsort(-values, axis=1, kind="stable"))
