"""Helpers for the vendor-API tests: a built warehouse, keys made by the CLI, a live server in a subprocess.

Plain functions, so each test module owns its fixtures (and its warehouse) and
stops the server it started.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from anpr_warehouse.generate import GenerateRequest, generate_delivery

from .cli_support import CLI, anpr, load_and_build

__all__ = ["CLI", "anpr", "build_warehouse", "create_key", "free_port", "serve", "write_vendors"]
VENDORS = "vendors:\n  vendor_a:\n    municipalities: [GM0344]\n  vendor_b:\n    municipalities: [GM0363]\n"


def build_warehouse(folder: Path, municipalities=("GM0344", "GM0363"), month: int = 3) -> Path:
    """Loads one small month per municipality and runs `anpr build` (which publishes a snapshot)."""
    warehouse = folder / "wh" / "anpr.duckdb"
    warehouse.parent.mkdir(parents=True)
    requests = [GenerateRequest(muni, 2025, month, seed=5, locations=4) for muni in municipalities]
    return load_and_build(warehouse, (generate_delivery(r, folder / "deliveries") for r in requests))


def write_vendors(folder: Path) -> Path:
    path = folder / "vendors.yml"
    path.write_text(VENDORS, encoding="utf-8")
    return path


def create_key(warehouse: Path, vendors: Path, vendor: str) -> str:
    proc = anpr("keys", "create", "--vendor", vendor, "--warehouse", str(warehouse), "--vendors", str(vendors), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(warehouse: Path, vendors: Path, *extra: str, startup_timeout: float = 120):
    """`anpr serve` on a free port; yields the base URL and stops the server afterwards."""
    port = free_port()
    log = warehouse.parent / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--warehouse", str(warehouse), "--vendors", str(vendors), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            assert proc.poll() is None, f"anpr serve exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"anpr serve did not start in {startup_timeout} s: {log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/v1/openapi.json", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
