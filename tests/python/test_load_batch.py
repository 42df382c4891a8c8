"""A load of many deliveries checks them in worker processes and writes them in order (load/batch.py).

The parallel load must be indistinguishable from loading the same paths one by one: the same lines
on stdout and stderr, the same exit code, the same raw tables and register; a refused delivery in
the middle writes nothing; a correction listed before the delivery it corrects is refused as it would be.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse.load.batch import JOBS_ENV, _check, _write_checked, default_jobs, load_many
from anpr_warehouse.warehouse import table_checksums

from .conftest import file_sha256
from .faulty import FAULTS

PROGRESS_BAR = re.compile(r"\r?load:\s+\d+%\|[^|]*\|[^\]]*\]")  # tqdm's `load:  17%|█▋  | 1/6 [00:05<00:28, ...]`
REGISTER_COLUMNS = "delivery_id, layout, municipality_code, period_code, version, supersedes, content_sha256, row_count, status"


def _load(jobs: int, warehouse: Path, *paths: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, JOBS_ENV: str(jobs)}
    argv = [sys.executable, "-m", "anpr_warehouse.cli", "load", *map(str, paths), "--warehouse", str(warehouse)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)


def _register(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select {REGISTER_COLUMNS} from raw.cbs_deliveries order by delivery_id").fetchall()
    finally:
        con.close()


def _messages(proc: subprocess.CompletedProcess) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and stderr without the progress bar's lines (its timings differ run to run)."""
    without_bar = PROGRESS_BAR.sub("", proc.stderr)
    return proc.returncode, proc.stdout, [line for line in without_bar.splitlines() if line.strip()]


@pytest.fixture()
def mixed_batch(copy_delivery, deliveries) -> list[Path]:
    """Deliveries whose outcome depends on the ones before them, and a faulty one among them."""
    faulty = FAULTS[0].mutate(copy_delivery("v1_april"))
    return [
        deliveries["v1_correction"],  # version 2 of March first: March's first delivery, loaded
        deliveries["v1"],  # version 1 after it: refused by the register (March has a current delivery)
        faulty,
        deliveries["v1_april"],
        deliveries["legacy"],  # a legacy March without --supersedes: refused, March has a current delivery
        deliveries["v1_april"],  # the same delivery twice: the second is a no-op that says so
    ]


def test_parallel_load_says_and_writes_what_a_serial_load_does(mixed_batch, tmp_path):
    serial = _load(1, tmp_path / "serial.duckdb", *mixed_batch)
    parallel = _load(2, tmp_path / "parallel.duckdb", *mixed_batch)

    assert _messages(parallel) == _messages(serial)
    assert serial.returncode == 2, serial.stderr  # the batch holds refusals
    assert serial.stderr.count("REFUSED") == 3, serial.stderr
    assert "already loaded" in serial.stdout
    tables = table_checksums(tmp_path / "parallel.duckdb")
    expected = table_checksums(tmp_path / "serial.duckdb")
    assert tables.pop("cbs_deliveries") and expected.pop("cbs_deliveries")  # its load times differ
    assert tables == expected
    assert _register(tmp_path / "parallel.duckdb") == _register(tmp_path / "serial.duckdb")
    assert len(_register(tmp_path / "parallel.duckdb")) == 2


def test_a_batch_of_refused_deliveries_leaves_the_warehouse_byte_for_byte(copy_delivery, warehouse):
    faulty = []
    for i, fault in enumerate(f for f in FAULTS if f.base == "v1"):
        if i == 3:
            break
        path = fault.mutate(copy_delivery(fault.base))
        faulty.append(path.rename(path.with_name(f"{path.name}-{i}")))  # the next copy gets the pristine name
    before = file_sha256(warehouse)

    proc = _load(2, warehouse, *faulty)

    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("REFUSED") == len(faulty) >= 2, proc.stderr
    assert f"{len(faulty)} of {len(faulty)} deliveries refused" in proc.stderr
    assert file_sha256(warehouse) == before


def test_in_process_batch_yields_each_outcome_in_order(deliveries, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    paths = [deliveries["v1"], deliveries["v1_april"], deliveries["v1"]]

    outcomes = list(load_many(paths, warehouse, jobs=2))

    assert [path for path, _ in outcomes] == paths
    assert [outcome.get().status for _, outcome in outcomes] == ["loaded", "loaded", "already-loaded"]


def test_jobs_are_bounded_by_the_deliveries_and_the_environment(monkeypatch):
    monkeypatch.setenv(JOBS_ENV, "3")
    assert default_jobs(10) == 3
    assert default_jobs(2) == 2
    monkeypatch.setenv(JOBS_ENV, "lots")  # not a number: one worker per core, at most 4
    assert 1 <= default_jobs(10) <= min(len(os.sched_getaffinity(0)), 4)
    assert default_jobs(1) == 1


@pytest.mark.parametrize("spool_exists", [True, False], ids=["spooled", "spool-missing"])
def test_a_checked_delivery_reaches_the_writer_whole_with_or_without_its_spool(deliveries, tmp_path, spool_exists):
    """A worker's tables travel as Arrow files, or (spool full or gone) in the result itself: the same rows load."""
    parent = tmp_path / ("spool" if spool_exists else "missing")
    if spool_exists:
        parent.mkdir()
    handover = parent / "0"
    checked, _, problems = _check(deliveries["v1"], None, handover)
    assert not problems
    assert all((parsed.table is None) == spool_exists for parsed in checked.tables.values())
    future: Future = Future()
    future.set_result((checked, "", []))

    result = _write_checked(future, handover, tmp_path / "wh.duckdb", 5, False)

    assert result.status == "loaded"
    assert result.rows == sum(len(parsed) for parsed in checked.tables.values()) > 0
    assert not handover.exists()
