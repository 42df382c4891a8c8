"""`anpr` as a user runs it (a subprocess), small warehouses built through it, and reading them back: one definition
for the test modules.

Why a subprocess: the exit code, stderr and the one-line errors are what users see, and a
build in its own process leaves no dbt or MetricFlow state behind in the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import duckdb

from anpr_warehouse.load import load_delivery
from anpr_warehouse.paths import PROJECT_ROOT

CLI = [sys.executable, "-m", "anpr_warehouse.cli"]


def anpr(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def anpr_ok(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`anpr` that must succeed: a failure shows the command's output."""
    proc = anpr(*args, timeout=timeout)
    assert proc.returncode == 0, (
        f"anpr {' '.join(args[:2])} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one query on a warehouse file, opened read-only and closed again (a test never holds it)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def load_and_build(warehouse: Path, deliveries: Iterable[Path], timeout: float = 900) -> Path:
    """Loads the deliveries (folders or zips, in order) and runs `anpr build`, which publishes a snapshot."""
    for delivery in deliveries:
        load_delivery(delivery, warehouse)
    anpr_ok("build", "--warehouse", str(warehouse), timeout=timeout)
    return warehouse


def dbt(*args: str, warehouse: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """dbt itself (not `anpr`) with the project's profile: for tests that run nodes by hand on `warehouse`, or
    that only parse or list the project (no warehouse: the environment's, as a `dbt` typed by hand)."""
    env = {**os.environ, "ANPR_WAREHOUSE": str(warehouse)} if warehouse is not None else None
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT / "profiles"),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
