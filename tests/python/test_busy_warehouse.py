"""A warehouse held by another process, or a disk that refuses writes: one clear line, nothing changed.

Every test drives the real CLI in a subprocess against a real DuckDB file that a second
real process holds (DuckDB's own file lock), or under a real file size limit.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anpr_warehouse.load import load_delivery
from anpr_warehouse.warehouse import table_checksums

from .conftest import file_sha256

BUSY_LINE = re.compile(
    r"^anpr (?P<cmd>[a-z]+): warehouse busy: (?P<path>.+) is held by another process \(waited (?P<waited>\d+) s\); nothing changed$"
)
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read-only")
con.execute("select count(*) from duckdb_tables()").fetchall()
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
con.close()
"""


class Holder:
    """A second process that holds the warehouse (DuckDB's lock) for `seconds`, then lets go."""

    def __init__(self, warehouse: Path, mode: str, seconds: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(warehouse), mode, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", self.proc.stderr.read()
        self.ready_at = time.monotonic()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


def anpr(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def assert_busy(proc: subprocess.CompletedProcess, command: str, warehouse: Path) -> None:
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    match = BUSY_LINE.match(lines[-1])
    assert match, proc.stderr
    assert match["cmd"] == command and match["path"] == str(warehouse.resolve())


@pytest.mark.parametrize("mode", ["read-write", "read-only"])
def test_load_waits_then_says_busy_and_changes_nothing(mode, deliveries, warehouse):
    before = table_checksums(warehouse), file_sha256(warehouse)
    holder = Holder(warehouse, mode, 120)
    try:
        started = time.monotonic()
        proc = anpr("load", str(deliveries["v1"]), "--warehouse", str(warehouse), "--wait", "1")
        elapsed = time.monotonic() - started
        assert holder.proc.poll() is None, "the holder must still hold the warehouse when the load gives up"
    finally:
        holder.stop()
    assert_busy(proc, "load", warehouse)
    assert elapsed < 20  # bounded: --wait 1 plus reading and checking the small delivery
    assert (table_checksums(warehouse), file_sha256(warehouse)) == before
    assert load_delivery(deliveries["v1"], warehouse).status == "loaded"  # nothing half-done is in the way


def test_load_gets_the_warehouse_when_the_holder_lets_go(deliveries, warehouse):
    holder = Holder(warehouse, "read-only", 3)
    try:
        proc = anpr("load", str(deliveries["v1"]), "--warehouse", str(warehouse), "--wait", "30")
        finished = time.monotonic()
    finally:
        holder.stop()
    assert proc.returncode == 0, proc.stderr
    assert "loaded: CBS-ANPR-GM0344-2025MM03-1" in proc.stdout
    assert finished - holder.ready_at >= 3  # it did wait for the holder, it did not get in before
    assert holder.proc.returncode == 0  # the holder ended on its own, it was not pushed aside


@pytest.mark.parametrize(
    "command",
    [
        ["deliveries"],
        ["export", "--vendor", "argaleo", "--protect", "--out", "{tmp}/exports"],  # the audit reads raw cells
    ],
)
def test_reader_of_the_warehouse_file_says_busy_while_a_writer_holds(command, warehouse, tmp_path):
    before = file_sha256(warehouse)
    holder = Holder(warehouse, "read-write", 120)
    try:
        proc = anpr(*[part.format(tmp=tmp_path) for part in command], "--warehouse", str(warehouse), "--wait", "1")
    finally:
        holder.stop()
    assert_busy(proc, command[0], warehouse)
    assert not (tmp_path / "exports").exists() and not (tmp_path / "report").exists()
    assert file_sha256(warehouse) == before


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory) -> Path:
    from .service_support import build_warehouse

    return build_warehouse(tmp_path_factory.mktemp("built"), municipalities=("GM0344",))


@pytest.mark.parametrize(
    "command",
    [
        ["metrics", "list"],
        ["metrics", "query", "--metrics", "passages", "--group-by", "metric_time__month", "--format", "json"],
        ["export", "--vendor", "argaleo", "--out", "{tmp}/exports"],
        ["report", "--municipality", "GM0344", "--out", "{tmp}/report"],
    ],
)
def test_reader_answers_from_the_snapshot_while_a_writer_holds(command, built_warehouse, tmp_path):
    """Readers never wait for a load or build: they read the published snapshot, not the file being written."""
    holder = Holder(built_warehouse, "read-write", 120)
    try:
        started = time.monotonic()
        proc = anpr(*[part.format(tmp=tmp_path) for part in command], "--warehouse", str(built_warehouse), "--wait", "1")
        elapsed = time.monotonic() - started
        assert holder.proc.poll() is None, "the writer must still hold the warehouse while the reader answers"
    finally:
        holder.stop()
    assert proc.returncode == 0, proc.stderr
    if command[0] == "export":
        assert list((tmp_path / "exports" / "argaleo" / "GM0344").glob("*/manifest.json"))
    elif command[0] == "report":
        assert list((tmp_path / "report").rglob("index.html"))
    else:
        assert "passages" in proc.stdout
    assert elapsed < 100


def test_build_checks_the_lock_before_dbt(warehouse):
    holder = Holder(warehouse, "read-only", 120)
    try:
        proc = anpr("build", "--warehouse", str(warehouse), "--wait", "1", timeout=300)
    finally:
        holder.stop()
    assert_busy(proc, "build", warehouse)
    assert "dbt" not in proc.stdout.lower()  # dbt never started


def test_full_disk_gives_one_line_and_leaves_the_warehouse_intact(deliveries, warehouse):
    """RLIMIT_FSIZE stands in for a full disk: the kernel refuses a write past it (EFBIG)."""
    before = table_checksums(warehouse), file_sha256(warehouse)
    limit = warehouse.stat().st_size + 64 * 1024  # room for the file as it is, not for the delivery

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "load", str(deliveries["v1"]), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("anpr load: cannot write the warehouse: disk full or file size limit (")
    assert lines[0].endswith("); nothing changed")
    assert (table_checksums(warehouse), file_sha256(warehouse)) == before
    result = load_delivery(deliveries["v1"], warehouse)
    assert result.status == "loaded" and result.rows > 0


def test_a_lock_dbt_meets_itself_is_busy_too(warehouse, monkeypatch):
    """Someone takes the file between our wait and dbt's own open: still exit 3's message, not dbt's traceback."""
    from anpr_warehouse import dbt_runner
    from anpr_warehouse.errors import WarehouseBusy

    monkeypatch.setattr(dbt_runner, "wait_until_free", lambda *args, **kwargs: 0.0)  # lose the race on purpose
    holder = Holder(warehouse, "read-only", 120)
    try:
        with pytest.raises(WarehouseBusy) as busy:
            dbt_runner.run_dbt(["build", "--select", "ref_municipalities", "--quiet"], warehouse, wait=1)
    finally:
        holder.stop()
    assert busy.value.exit_code == 3 and busy.value.warehouse == str(warehouse)
