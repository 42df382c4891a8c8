"""The generator protects its tables together: the audit (min-cell rule) finds no cell at risk in what it writes."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit.cells import cells_from_path
from anpr_warehouse.audit.run import audit_cells
from anpr_warehouse.generate import GenerateRequest, generate_delivery

MIN_CELL = 10


@pytest.fixture(
    scope="module",
    params=[("cube", 1, 2), ("cube", 2, 3), ("nested", 1, 3), ("nested", 2, 2)],
    ids=lambda p: f"{p[0]}-seed{p[1]}-{p[2]}loc",
)
def generated(request, tmp_path_factory) -> Path:
    """March 2025 (it holds the spring DST day, whose H02 is Impossible) in both totals layouts, two seeds."""
    totals, seed, locations = request.param
    wanted = GenerateRequest("GM0344", 2025, 3, seed=seed, locations=locations, totals=totals, protection="audited")
    return generate_delivery(wanted, tmp_path_factory.mktemp("protected"))


def test_audit_with_min_cell_rule_finds_no_cell_at_risk(generated):
    result = audit_cells(cells_from_path(generated), min_cell_rule=True)
    assert result.confidential > 0
    assert result.infeasible_components == 0, result.notes
    assert [a.cell.label() for a in result.at_risk] == []
    assert not [n for n in result.notes if "below min_cell" in n]


def test_no_published_non_zero_cell_below_min_cell(generated):
    for table in c.OBSERVATION_TABLES.values():
        with open(generated / table.file, newline="", encoding="utf-8") as handle:
            low = [row for row in csv.DictReader(handle) if row["ValueAttribute"] == "None" and 0 < int(row["Value"]) < MIN_CELL]
        assert low == [], f"{table.file}: {low[:3]}"


def test_linked_rules_alone_protect_t01_hours_by_t02_fuel_total(tmp_path):
    """Without the audit pass, sdc's link rules keep every published T02 fuel total from exposing one hidden hour,
    and leave a tenth of the cells at risk that table-by-table protection leaves (or fewer)."""
    folder = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=1, locations=2, protection="linked"), tmp_path)
    exposed = duckdb.sql(f"""
        with t01 as (select * from read_csv('{folder / "T01_Observations.csv"}', all_varchar=true)),
             t02 as (select * from read_csv('{folder / "T02_Observations.csv"}', all_varchar=true) where FuelType = 'T001'),
             hidden as (
                 select Location, Date, VehicleCategory, count(*) filter (where ValueAttribute = 'Confidential') as n
                 from t01 group by all
             )
        select h.* from hidden h join t02 using (Location, Date, VehicleCategory)
        where t02.ValueAttribute = 'None' and h.n = 1
    """).fetchall()
    assert exposed == []
    linked = audit_cells(cells_from_path(folder), min_cell_rule=True)
    assert linked.infeasible_components == 0
    assert not [a for a in linked.at_risk if a.cell.table in ("T01", "T02")]
    # the same month protected table by table, as CBS does: the audit finds cells at risk through the links
    alone = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=1, locations=2, protection="table"), tmp_path / "table")
    table_by_table = audit_cells(cells_from_path(alone), min_cell_rule=True)
    assert {a.cell.table for a in table_by_table.at_risk} >= {"T01", "T02"}
    assert len(linked.at_risk) * 10 < len(table_by_table.at_risk)  # measured: 0 against 394


def test_audited_generation_is_deterministic(tmp_path):
    """The audit pass (LPs, greedy choice) depends only on the cells: the same seed gives the same bytes."""
    request = GenerateRequest("GM0363", 2025, 3, seed=4, locations=2, protection="audited")
    first, second = generate_delivery(request, tmp_path / "a"), generate_delivery(request, tmp_path / "b")
    assert {p.name: p.read_bytes() for p in first.iterdir()} == {p.name: p.read_bytes() for p in second.iterdir()}


def test_audit_pass_leaves_certified_location_days_as_written(tmp_path):
    """On a month where the link rules leave cells at risk, every one is in a zone table: the network check
    certifies every location-day, so the pass leaves T01 and T02 as the rules wrote them, and the whole month
    then audits clean."""
    month = {"municipality": "GM0344", "year": 2025, "month": 3, "seed": 1, "locations": 4}
    linked = generate_delivery(GenerateRequest(**month, protection="linked"), tmp_path / "linked")
    audited = generate_delivery(GenerateRequest(**month, protection="audited"), tmp_path / "audited")
    left = audit_cells(cells_from_path(linked), min_cell_rule=True)
    assert left.at_risk, "the link rules alone leave this month's zone cube at risk (measured: 9 cells)"
    assert {a.cell.table for a in left.at_risk} <= {"T03", "T04", "T05", "T06"}
    for code in ("T01", "T02"):
        file = c.OBSERVATION_TABLES[code].file
        assert (linked / file).read_bytes() == (audited / file).read_bytes(), file
    after = audit_cells(cells_from_path(audited), min_cell_rule=True)
    assert after.infeasible_components == 0
    assert after.at_risk == []
