"""`anpr` as a user runs it (a subprocess), and small warehouses built through it: one definition for the test modules.

Why a subprocess: the exit code, stderr and the one-line errors are what users see, and a
build in its own process leaves no dbt or MetricFlow state behind in the test process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from anpr_warehouse.load import load_delivery

CLI = [sys.executable, "-m", "anpr_warehouse.cli"]


def anpr(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def load_and_build(warehouse: Path, deliveries: Iterable[Path], timeout: float = 900) -> Path:
    """Loads the deliveries (folders or zips, in order) and runs `anpr build`, which publishes a snapshot."""
    for delivery in deliveries:
        load_delivery(delivery, warehouse)
    proc = anpr("build", "--warehouse", str(warehouse), timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return warehouse
