"""DuckDB's memory limit comes from one place and reaches dbt's connection and the Python ones.

Why it matters: without a limit DuckDB caches up to 80 % of the machine and a national build grew to
7.9 GB resident. The limit is applied with SET (not connect-time config), so a Python connection to the
warehouse opened while dbt's is still open in the same process is not refused for a different
configuration, and it shares the limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from anpr_warehouse.duckdb_settings import MEMORY_LIMIT_ENV, connect_in_memory
from anpr_warehouse.warehouse import table_checksums

# 700 MB as DuckDB reports it back (it shows binary units)
LIMIT, SHOWN = "700MB", "667.5 MiB"


def run(args: list[str], limit: str) -> subprocess.CompletedProcess:
    env = {**os.environ, MEMORY_LIMIT_ENV: limit}
    return subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)


def test_dbt_and_a_later_python_connection_in_the_same_process_share_the_limit(warehouse: Path, project_env: Path) -> None:
    """dbt opens the warehouse through the profile's plugin; the build's own connection afterwards must
    open (same configuration) and see the same limit."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from dbt.cli.main import dbtRunner
        from anpr_warehouse.dbt_runner import point_dbt_at
        from anpr_warehouse.paths import PROFILES_DIR, PROJECT_ROOT
        from anpr_warehouse.warehouse import connect

        warehouse = Path({str(warehouse)!r})
        point_dbt_at(warehouse)
        sql = "select current_setting('memory_limit') as dbt_limit"
        result = dbtRunner().invoke(["show", "--inline", sql, "--project-dir", str(PROJECT_ROOT),
                                     "--profiles-dir", str(PROFILES_DIR)])
        assert result.success, result.exception
        print("dbt:", result.result.results[0].agate_table.rows[0][0])
        con = connect(warehouse, read_only=False)
        print("python:", con.execute("select current_setting('memory_limit')").fetchone()[0])
        """
    )
    proc = run([sys.executable, "-c", script], LIMIT)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    assert f"dbt: {SHOWN}" in proc.stdout
    assert f"python: {SHOWN}" in proc.stdout


def test_a_limit_duckdb_cannot_read_is_one_line_and_changes_nothing(warehouse: Path, deliveries: dict[str, Path]) -> None:
    before = table_checksums(warehouse)
    proc = run([sys.executable, "-m", "anpr_warehouse.cli", "load", str(deliveries["v1"]), "--warehouse", str(warehouse)], "lots")
    assert proc.returncode == 1
    assert f"{MEMORY_LIMIT_ENV}='lots' is not a memory size DuckDB understands" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert table_checksums(warehouse) == before


def test_the_loader_checks_and_writes_under_the_limit(warehouse: Path, deliveries: dict[str, Path]) -> None:
    """A load under a small limit still loads the delivery (DuckDB spills rather than grows)."""
    proc = run([sys.executable, "-m", "anpr_warehouse.cli", "load", str(deliveries["v1"]), "--warehouse", str(warehouse)], "64MB")
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loaded = con.execute("select count(*) from raw.cbs_deliveries where delivery_id = ?", [deliveries["v1"].name]).fetchone()
    finally:
        con.close()
    assert loaded == (1,)


def test_an_in_memory_connection_spills_beside_the_warehouse_it_attaches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, LIMIT)
    con = connect_in_memory(spill_beside=tmp_path / "anpr.duckdb")
    limit, spill = con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert (limit, spill) == (SHOWN, f"{tmp_path / 'anpr.duckdb'}.tmp")
