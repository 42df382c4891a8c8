"""Reads during writes: the API keeps answering, from one complete snapshot at a time, while a month is loaded and built.

A bounded client loop runs against the live service while `anpr load` and
`anpr build` add April. Every response must be 200; responses carry the old
snapshot id until the switch and the new one after it, never back; and within
one snapshot id the numbers never change.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.snapshots import current_snapshot, list_snapshots

from .service_support import anpr, build_warehouse, create_key, serve, write_vendors

pytestmark = pytest.mark.slow
MAX_REQUESTS = 5000


def test_reads_during_load_and_build(tmp_path):
    warehouse = build_warehouse(tmp_path, municipalities=("GM0344",))
    april = generate_delivery(GenerateRequest("GM0344", 2025, 4, seed=5, locations=4), tmp_path / "april")
    vendors = write_vendors(tmp_path)
    key = create_key(warehouse, vendors, "vendor_a")
    old = current_snapshot(warehouse).id
    seen: list[tuple[str, int, str, object]] = []
    stop = threading.Event()

    with serve(warehouse, vendors, "--rate", "1000", "--burst", "100000") as base:
        headers = {"Authorization": f"Bearer {key}"}
        first_page = httpx.get(f"{base}/v1/marts/fct_passages_hourly?limit=10", headers=headers, timeout=60).json()
        old_cursor = first_page["next_cursor"]

        def client() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                for i in range(MAX_REQUESTS):
                    if stop.is_set():
                        return
                    if i % 2:
                        r = http.get("/v1/municipalities/GM0344/periods")
                        summary = [p["month"] for p in r.json()["periods"]] if r.status_code == 200 else r.text
                    else:
                        r = http.get("/v1/questions/overview_month", params={"municipality": "GM0344"})
                        summary = r.json()["rows"] if r.status_code == 200 else r.text
                    seen.append((r.headers.get("x-snapshot-id", ""), r.status_code, "periods" if i % 2 else "overview", summary))
                    time.sleep(0.05)

        reader = threading.Thread(target=client, daemon=True)
        reader.start()
        try:
            load = anpr("load", str(april), "--warehouse", str(warehouse))
            assert load.returncode == 0, load.stderr  # a reader of the service never blocks the load
            build = anpr("build", "--warehouse", str(warehouse))
            assert build.returncode == 0, build.stdout[-3000:]
            new = current_snapshot(warehouse).id
            deadline = time.monotonic() + 120
            while not any(s[0] == new for s in seen[-5:]) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            # a cursor of the old snapshot would page through the new one at a wrong offset: refused, start again
            stale = httpx.get(f"{base}/v1/marts/fct_passages_hourly?limit=10&cursor={old_cursor}", headers=headers, timeout=60)
            restart = httpx.get(f"{base}/v1/marts/fct_passages_hourly?limit=10", headers=headers, timeout=60)
            fresh = httpx.get(
                f"{base}/v1/marts/fct_passages_hourly?limit=10&cursor={restart.json()['next_cursor']}",
                headers=headers,
                timeout=60,
            )
        finally:
            stop.set()
            reader.join(timeout=150)

    assert stale.status_code == 409 and stale.json()["type"].endswith("snapshot-changed"), stale.text
    assert fresh.status_code == 200 and fresh.headers["x-snapshot-id"] == new

    assert new != old and [s.id for s in list_snapshots(warehouse)] == [old, new]
    assert len(seen) > 10
    assert {status for _, status, _, _ in seen} == {200}, [s for s in seen if s[1] != 200][:3]
    ids = [snapshot for snapshot, _, _, _ in seen]
    assert ids[0] == old and ids[-1] == new
    switch = ids.index(new)
    assert set(ids[:switch]) == {old} and set(ids[switch:]) == {new}, "a response went back to the old snapshot"
    for snapshot, months in ((old, ["2025-03"]), (new, ["2025-03", "2025-04"])):
        periods = [summary for sid, _, kind, summary in seen if sid == snapshot and kind == "periods"]
        overviews = [summary for sid, _, kind, summary in seen if sid == snapshot and kind == "overview"]
        assert periods and all(p == months for p in periods)
        assert overviews and all(o == overviews[0] for o in overviews), "numbers changed within one snapshot"
        assert [row["metric_time__month"][:7] for row in overviews[0]] == months
