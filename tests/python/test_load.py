"""Loading: refusals change nothing, reloads are no-ops, corrections replace, crashes leave no trace."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from anpr_warehouse.cli import main
from anpr_warehouse.load import DeliveryRefused, load_delivery
from anpr_warehouse.warehouse import table_checksums

from .conftest import file_sha256
from .faulty import FAULTS


def test_corpus_is_large_and_distinct():
    assert len(FAULTS) >= 30
    assert len({f.name for f in FAULTS}) == len(FAULTS)
    assert len({f.rule for f in FAULTS}) >= 20


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_faulty_delivery_is_refused_whole(fault, copy_delivery, warehouse, capsys):
    path = fault.mutate(copy_delivery(fault.base))
    before_tables, before_bytes = table_checksums(warehouse), file_sha256(warehouse)

    code = main(["load", str(path), "--warehouse", str(warehouse)])

    err = capsys.readouterr().err
    assert code == 2
    assert "REFUSED" in err
    problem_lines = [line for line in err.splitlines() if f"[{fault.rule}]" in line]
    assert problem_lines, f"no [{fault.rule}] problem in:\n{err}"
    assert any(fault.file in line for line in problem_lines), err
    assert table_checksums(warehouse) == before_tables
    assert file_sha256(warehouse) == before_bytes


def test_refused_delivery_does_not_create_a_missing_warehouse(copy_delivery, tmp_path):
    path = FAULTS[0].mutate(copy_delivery("v1"))
    target = tmp_path / "never.duckdb"
    with pytest.raises(DeliveryRefused):
        load_delivery(path, target)
    assert not target.exists()


def _register(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select delivery_id, status, superseded_by, version from raw.cbs_deliveries order by delivery_id"
        ).fetchall()
    finally:
        con.close()


def test_valid_deliveries_load_in_both_layouts_and_as_zip(deliveries, warehouse, tmp_path):
    from anpr_warehouse.generate import GenerateRequest, generate_delivery

    assert load_delivery(deliveries["v1"], warehouse).status == "loaded"
    zipped = generate_delivery(GenerateRequest("GM0363", 2025, 3, seed=3, locations=3, as_zip=True), tmp_path)
    assert load_delivery(zipped, warehouse).status == "loaded"
    legacy_wh = tmp_path / "legacy.duckdb"
    result = load_delivery(deliveries["legacy"], legacy_wh)
    assert result.status == "loaded" and result.delivery_id.startswith("CBS-ANPR-LEGACY-GM0344-2025MM03-")
    con = duckdb.connect(str(legacy_wh), read_only=True)
    lat, lon = con.execute(
        "select latitude_wgs84, longitude_wgs84 from raw.cbs_legacy_locaties order by Locatie limit 1"
    ).fetchone()
    con.close()
    v1_locations = (deliveries["v1"] / "Locations.csv").read_text().splitlines()[1].split(",")
    assert abs(lat - float(v1_locations[5])) < 2e-5 and abs(lon - float(v1_locations[6])) < 2e-5


def test_loading_twice_changes_nothing(deliveries, warehouse, capsys):
    assert main(["load", str(deliveries["v1"]), "--warehouse", str(warehouse)]) == 0
    after_first = table_checksums(warehouse), _register(warehouse)
    assert main(["load", str(deliveries["v1"]), "--warehouse", str(warehouse)]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert (table_checksums(warehouse), _register(warehouse)) == after_first


def test_correction_replaces_and_history_stays(deliveries, warehouse):
    load_delivery(deliveries["v1"], warehouse)
    result = load_delivery(deliveries["v1_correction"], warehouse)
    assert result.status == "correction"
    register = {row[0]: row for row in _register(warehouse)}
    assert register["CBS-ANPR-GM0344-2025MM03-1"][1:3] == ("superseded", "CBS-ANPR-GM0344-2025MM03-2")
    assert register["CBS-ANPR-GM0344-2025MM03-2"][1] == "current"
    con = duckdb.connect(str(warehouse), read_only=True)
    kept = con.execute(
        "select count(distinct delivery_id) from raw.cbs_v1_t01_observations where delivery_id like '%2025MM03%'"
    ).fetchone()[0]
    con.close()
    assert kept == 2  # both versions stay queryable
    # re-sending the superseded original is a no-op, not a resurrection
    again = load_delivery(deliveries["v1"], warehouse)
    assert again.status == "already-loaded" and "superseded by" in again.message
    assert {row[0]: row for row in _register(warehouse)} == register


def test_second_delivery_for_a_month_without_supersedes_is_refused(deliveries, warehouse):
    load_delivery(deliveries["v1"], warehouse)
    before = table_checksums(warehouse)
    with pytest.raises(DeliveryRefused) as refused:
        load_delivery(deliveries["legacy"], warehouse)
    assert "supersedes" in str(refused.value.problems[0])
    assert table_checksums(warehouse) == before


def test_legacy_correction_with_supersedes_option(deliveries, warehouse):
    load_delivery(deliveries["v1"], warehouse)
    result = load_delivery(deliveries["legacy"], warehouse, supersedes="CBS-ANPR-GM0344-2025MM03-1")
    assert result.status == "correction"
    register = {row[0]: row for row in _register(warehouse)}
    assert register[result.delivery_id][1:] == ("current", None, 2)


def test_same_id_with_different_content_is_refused(copy_delivery, deliveries, warehouse):
    from .faulty import edit_lines, first_row_where

    def published_grand_total(fields: list[str]) -> bool:  # raising it keeps every total above its parts
        return fields[-1] == "None" and fields[3] == fields[4] == "T001"

    load_delivery(deliveries["v1"], warehouse)
    changed = edit_lines("T05_Observations.csv", first_row_where(published_grand_total, -2, "999995"))(copy_delivery("v1"))
    with pytest.raises(DeliveryRefused) as refused:
        load_delivery(changed, warehouse)
    assert "different content" in str(refused.value.problems[0])


def test_load_killed_half_way_leaves_warehouse_consistent(deliveries, warehouse):
    before = table_checksums(warehouse), _register(warehouse)
    env = dict(os.environ, ANPR_FAULT_INJECT="mid-load")
    proc = subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "load", str(deliveries["v1"]), "--warehouse", str(warehouse)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 86, proc.stderr  # the process died inside the transaction
    assert (table_checksums(warehouse), _register(warehouse)) == before
    assert load_delivery(deliveries["v1"], warehouse).status == "loaded"
    assert any(row[0] == "CBS-ANPR-GM0344-2025MM03-1" for row in _register(warehouse))
