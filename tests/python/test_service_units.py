"""Fast checks of the parts under the vendor API: snapshots, keys, rate limit, caches (no dbt, no server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse.service.keys import KeyStore
from anpr_warehouse.service.ratelimit import RateLimiter
from anpr_warehouse.service.single_flight import SingleFlightCache
from anpr_warehouse.snapshots import (
    COMPLETE_MARKER,
    current_snapshot,
    list_snapshots,
    publish_snapshot,
    remove_old_snapshots,
    stable_path,
)


@pytest.fixture()
def built(tmp_path) -> tuple[Path, Path]:
    """A warehouse with one mart, a non-mart table and the register; a target folder with the build's manifests."""
    warehouse = tmp_path / "wh" / "anpr.duckdb"
    warehouse.parent.mkdir()
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts; create schema raw; create schema staging")
    con.execute("create table marts.fct_x as select 'GM0344' as municipality_code, 5 as passages")
    con.execute("create view marts.v_x as select * from marts.fct_x")
    con.execute("create table staging.secret as select 1 as a")
    con.execute(
        "create table raw.cbs_deliveries as select 'D1' as delivery_id, 'current' as status, 'new column' as build_status"
    )
    con.close()
    target = tmp_path / "target"
    target.mkdir()
    (target / "semantic_manifest.json").write_text(json.dumps({"metrics": [], "semantic_models": []}))
    (target / "manifest.json").write_text("{}")
    return warehouse, target


def test_snapshot_holds_marts_and_register_and_is_current(built):
    warehouse, target = built
    snapshot_id = publish_snapshot(warehouse, target)
    snapshot = current_snapshot(warehouse)
    assert snapshot.id == snapshot_id and (snapshot.folder / COMPLETE_MARKER).exists()
    assert (snapshot.folder / "semantic_manifest.json").read_text() == (target / "semantic_manifest.json").read_text()
    con = duckdb.connect(str(stable_path(warehouse)), read_only=True)
    tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    register = con.execute("select * from raw.cbs_deliveries").fetchall()
    con.close()
    assert tables == {"marts.fct_x", "marts.v_x", "raw.cbs_deliveries"}  # no staging, raw only the register
    assert register == [("D1", "current", "new column")]  # every register column, whatever is added later


def test_snapshot_is_readable_while_the_warehouse_is_held_for_writing(built):
    warehouse, target = built
    publish_snapshot(warehouse, target)
    writer = duckdb.connect(str(warehouse))  # what a load or build holds
    try:
        writer.execute("insert into marts.fct_x values ('GM0344', 7)")
        code = (
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select sum(passages) from marts.fct_x').fetchone()[0])"
        )
        readers = [
            subprocess.run([sys.executable, "-c", code, str(stable_path(warehouse))], capture_output=True, text=True, timeout=60)
            for _ in range(2)
        ]
    finally:
        writer.close()
    assert [r.stdout.strip() for r in readers] == ["5", "5"], [r.stderr for r in readers]


def test_new_snapshot_switches_the_pointer_and_old_ones_go_after_the_grace_period(built):
    warehouse, target = built
    ids = []
    for value in range(5):
        con = duckdb.connect(str(warehouse))
        con.execute(f"insert into marts.fct_x values ('GM0344', {value})")
        con.close()
        ids.append(publish_snapshot(warehouse, target))
        time.sleep(1.05)  # ids carry the second
    assert current_snapshot(warehouse).id == ids[-1]
    assert os.readlink(stable_path(warehouse)).endswith(f"{ids[-1]}/anpr.duckdb")
    assert [s.id for s in list_snapshots(warehouse)] == ids  # all younger than the grace period
    removed = remove_old_snapshots(warehouse, keep=1, grace_seconds=0)
    assert removed == ids[:-1] and [s.id for s in list_snapshots(warehouse)] == [ids[-1]]
    (warehouse.parent / "snapshots" / "CURRENT").write_text(ids[-1])
    assert remove_old_snapshots(warehouse, keep=0, grace_seconds=0) == []  # never the current one


def test_stored_plans_go_with_the_last_snapshot_of_their_definitions(built):
    """plan-cache/<semantic manifest sha256>: kept while a snapshot has those definitions, then removed."""
    import hashlib

    warehouse, target = built
    publish_snapshot(warehouse, target)
    cache = warehouse.parent / "snapshots" / "plan-cache"
    live = cache / hashlib.sha256((target / "semantic_manifest.json").read_bytes()).hexdigest()
    stale = cache / ("0" * 64)
    for folder in (live, stale):
        folder.mkdir(parents=True)
        (folder / "plan.json").write_text("{}")
    remove_old_snapshots(warehouse, keep=1, grace_seconds=0)
    assert live.is_dir() and not stale.exists()


def test_incomplete_snapshot_is_never_current(built):
    warehouse, target = built
    good = publish_snapshot(warehouse, target)
    half = warehouse.parent / "snapshots" / "29991231T000000Z-half"
    half.mkdir()
    (warehouse.parent / "snapshots" / "CURRENT").write_text(half.name)
    assert current_snapshot(warehouse).id == good


def test_keys_verify_and_revoke(tmp_path):
    store = KeyStore(tmp_path / "api-keys.json")
    made = [store.create("argaleo") for _ in range(12)]  # secrets may contain "_" and "-"
    assert all(store.verify(key) == record for record, key in made)
    assert store.verify(made[0][1][:-1] + ("x" if made[0][1][-1] != "x" else "y")) is None
    assert store.verify("anpr_deadbeef_nope") is None and store.verify("Bearer") is None
    store.revoke(made[0][0].id)
    assert store.verify(made[0][1]) is None and store.verify(made[1][1]) is not None
    assert all(key.split("_", 2)[2] not in (tmp_path / "api-keys.json").read_text() for _, key in made)


def test_rate_limiter_refills():
    limiter = RateLimiter(per_second=10, burst=2)
    assert [limiter.retry_after("k") for _ in range(3)] == [None, None, 1]
    assert limiter.retry_after("other") is None
    time.sleep(0.15)
    assert limiter.retry_after("k") is None


def test_concurrent_askers_of_one_key_compute_it_once():
    """Eight threads ask the same new key while its first asker computes: one computation, one value for all."""
    cache: SingleFlightCache[int] = SingleFlightCache(limit=4)
    calls, started, release = [], threading.Event(), threading.Event()

    def compute() -> int:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return 42

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.once("k", compute))) for _ in range(8)]
    threads[0].start()
    assert started.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.1)  # the others are waiting for the first asker now
    release.set()
    for thread in threads:
        thread.join(10)
    assert got == [42] * 8 and len(calls) == 1
    assert cache.once("k", lambda: 0) == 42  # kept: a later asker does not compute


def test_a_failed_computation_is_not_kept_and_the_next_asker_runs_it_again():
    cache: SingleFlightCache[int] = SingleFlightCache(limit=4)

    def fail() -> int:
        raise RuntimeError("DuckDB said no")

    with pytest.raises(RuntimeError):
        cache.once("k", fail)
    assert cache.get("k") is None and cache.once("k", lambda: 7) == 7


def test_a_full_cache_drops_its_oldest_half():
    cache: SingleFlightCache[int] = SingleFlightCache(limit=4)
    for n in range(4):
        cache.put(n, n)
    cache.once(4, lambda: 4)
    assert sorted(cache) == [2, 3, 4] and len(cache) == 3
    cache.put(3, 30)  # replacing a kept key drops nothing
    assert sorted(cache) == [2, 3, 4] and cache.get(3) == 30
