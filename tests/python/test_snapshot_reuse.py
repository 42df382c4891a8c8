"""A snapshot published after an incremental build starts from the previous one and replaces only what changed.

Checked on a hand-made warehouse (no dbt): after each change the new snapshot must hold exactly the
warehouse's reader tables (a count and an order-free hash per table), say which snapshot it reused,
and leave the previous snapshot as it was (immutable). The cases are the ways a partition changes:
a new delivery, a correction replacing one, a month that disappears, a dimension attribute copied
"as last delivered" that changed under the same delivery id (drift), and a table whose columns changed.
A changed project, `reuse=False` (a full refresh) or a file grown by deleted rows writes everything.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import snapshot_tables
from anpr_warehouse.snapshots import current_snapshot, publish_snapshot

DRIFT = {"relation": "dim_location", "key": "location_code", "columns": {"zone_code": "zone_code"}}


def manifest(extra_config: str = "") -> dict:
    """The parts of dbt's manifest the snapshot reads: node checksums and configs, the drift meta."""
    node = {
        "resource_type": "model",
        "name": "fct_cells",
        "alias": "fct_cells",
        "schema": "marts",
        "checksum": {"checksum": "abc" + extra_config},
        "config": {"meta": {"partitioned_by_delivery": True, "partition_drift": DRIFT}},
    }
    dim = {"resource_type": "model", "name": "dim_location", "alias": "dim_location", "schema": "marts", "checksum": {}}
    return {"metadata": {"project_name": "anpr_warehouse"}, "nodes": {"model.a.fct_cells": node, "model.a.dim": dim}}


@pytest.fixture()
def built(tmp_path) -> tuple[Path, Path]:
    """A warehouse with a partitioned fact (two deliveries), a dimension and the register; a target folder."""
    warehouse = tmp_path / "wh" / "anpr.duckdb"
    warehouse.parent.mkdir()
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts; create schema raw")
    con.execute(
        """create table marts.fct_cells as
           select 'D' || m as delivery_id, 'L' || (i % 3) as location_code, 'Z' || (i % 3) as zone_code, i as passages
           from range(1, 3) as months(m), range(1000) as cells(i)"""
    )
    con.execute("create table marts.dim_location as select 'L' || i as location_code, 'Z' || i as zone_code from range(3) t(i)")
    con.execute("create table raw.cbs_deliveries as select 'D' || m as delivery_id from range(1, 3) t(m)")
    # keyed by delivery but not partitioned: a delivery's row changes in place
    con.execute("create table marts.dim_delivery as select 'D' || m as delivery_id, 'current' as status from range(1, 3) t(m)")
    con.close()
    target = tmp_path / "target"
    target.mkdir()
    (target / "semantic_manifest.json").write_text(json.dumps({"metrics": [], "semantic_models": []}))
    (target / "manifest.json").write_text(json.dumps(manifest()))
    return warehouse, target


def change(warehouse: Path, *statements: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def fingerprints(database: Path) -> dict[str, tuple]:
    """Per table: (rows, order-free hash of the rows)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'raw') order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'select count(*), coalesce(sum(hash(x)), 0) from "{s}"."{t}" as x').fetchone()
            for s, t in tables
        }
    finally:
        con.close()


def publish(warehouse: Path, target: Path, reuse: bool = True) -> tuple[dict, dict]:
    """Publishes; (the new snapshot's marker, its tables' fingerprints).

    Waits a second first: ids carry the second, and a snapshot with the same row counts and manifests
    published within the same second is taken to be the same snapshot.
    """
    time.sleep(1.05)
    publish_snapshot(warehouse, target, reuse=reuse)
    snapshot = current_snapshot(warehouse)
    return snapshot.info(), fingerprints(snapshot.database)


def test_changed_partitions_are_replaced_and_the_previous_snapshot_stays(built):
    warehouse, target = built
    first, first_tables = publish(warehouse, target)
    assert first["reused_from"] is None and first_tables == fingerprints(warehouse)

    # a correction replaces D1, D2's month disappears, a new month D3 arrives
    change(
        warehouse,
        "delete from marts.fct_cells where delivery_id in ('D1', 'D2')",
        """insert into marts.fct_cells select 'D' || m, 'L' || (i % 3), 'Z' || (i % 3), i + m
           from range(11, 12) as months(m), range(1000) as cells(i)""",
        "insert into marts.fct_cells select 'D3', 'L' || (i % 3), 'Z' || (i % 3), 7 * i from range(500) t(i)",
        "insert into raw.cbs_deliveries values ('D11'), ('D3')",
        "update marts.dim_delivery set status = 'superseded' where delivery_id = 'D1'",
    )
    second, second_tables = publish(warehouse, target)
    assert second["reused_from"] == first["id"] and second["partitions_replaced"] == 4  # D1, D2 out; D11, D3 in
    assert second_tables == fingerprints(warehouse)
    previous = next(s for s in Path(warehouse.parent / "snapshots").iterdir() if s.name == first["id"])
    assert fingerprints(previous / "anpr.duckdb") == first_tables  # the published snapshot was not touched


def test_a_changed_dimension_attribute_under_the_same_delivery_is_replaced(built):
    warehouse, target = built
    publish(warehouse, target)
    # the build's drift rule rewrote D1 and D2 with location L1's new zone; delivery ids and counts stay
    change(
        warehouse,
        "update marts.dim_location set zone_code = 'Z9' where location_code = 'L1'",
        "update marts.fct_cells set zone_code = 'Z9' where location_code = 'L1'",
    )
    second, tables = publish(warehouse, target)
    assert second["reused_from"] and second["partitions_replaced"] == 2
    assert tables == fingerprints(warehouse)


def test_nothing_changed_replaces_nothing(built):
    warehouse, target = built
    first, _ = publish(warehouse, target)
    second, tables = publish(warehouse, target)
    assert second["reused_from"] == first["id"] and second["partitions_replaced"] == 0
    assert tables == fingerprints(warehouse)


def test_changed_columns_are_written_whole(built):
    warehouse, target = built
    publish(warehouse, target)
    change(warehouse, "alter table marts.fct_cells add column note varchar default 'new'")
    second, tables = publish(warehouse, target)
    assert second["reused_from"] and second["partitions_replaced"] == 0
    assert tables == fingerprints(warehouse)


@pytest.mark.parametrize("why", ["full refresh", "changed project", "grown file"])
def test_everything_is_written_whole_when_reuse_is_not_safe(built, monkeypatch, why):
    warehouse, target = built
    publish(warehouse, target)
    change(warehouse, "update marts.fct_cells set passages = passages + 1 where delivery_id = 'D1'")  # counts stay
    if why == "changed project":
        (target / "manifest.json").write_text(json.dumps(manifest(extra_config="changed")))
    if why == "grown file":
        monkeypatch.setattr(snapshot_tables, "COMPACT_GROWTH", 0.5)
        monkeypatch.setattr(snapshot_tables, "COMPACT_MIN_BYTES", -1)  # any file is "grown"
    second, tables = publish(warehouse, target, reuse=why != "full refresh")
    assert second["reused_from"] is None
    assert tables == fingerprints(warehouse)  # the value change no partition rule could see is there


def test_a_whole_snapshot_holds_only_what_readers_get(built):
    """Written whole, a snapshot is a copy of the warehouse file: everything else must be gone from it."""
    warehouse, target = built
    change(
        warehouse,
        "create schema staging",
        "create table staging.stg_cells as select * from marts.fct_cells",
        "create view staging.stg_cells_view as select * from staging.stg_cells",
        "create table raw.cbs_v1_t01_observations as select delivery_id, passages from marts.fct_cells",
        "create view marts.fct_cells_big as select * from staging.stg_cells where passages > 500",
    )
    first, tables = publish(warehouse, target, reuse=False)
    assert first["reused_from"] is None
    con = duckdb.connect(str(current_snapshot(warehouse).database), read_only=True)
    try:
        relations = con.execute(
            """select schema_name, table_name, 'table' from duckdb_tables()
               union all select schema_name, view_name, 'view' from duckdb_views() where not internal
               order by 1, 2"""
        ).fetchall()
        schemas = con.execute("select schema_name from duckdb_schemas() where not internal order by 1").fetchall()
        big = con.execute("select count(*), min(passages) from marts.fct_cells_big").fetchone()
    finally:
        con.close()
    assert relations == [
        ("marts", "dim_delivery", "table"),
        ("marts", "dim_location", "table"),
        ("marts", "fct_cells", "table"),
        ("marts", "fct_cells_big", "table"),  # the mart view, materialised: its sources are not in the snapshot
        ("raw", "cbs_deliveries", "table"),
    ]
    assert schemas == [("marts",), ("raw",)]
    assert big == (2 * 499, 501)
    assert tables == {k: v for k, v in fingerprints(warehouse).items() if k != "raw.cbs_v1_t01_observations"} | {
        "marts.fct_cells_big": tables["marts.fct_cells_big"]
    }
