"""Runs dbt in-process against a given warehouse file.

dbt reads the warehouse path from ANPR_WAREHOUSE (see profiles/profiles.yml), so
every command that builds or queries sets it first; nothing else about dbt's
configuration lives in Python.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError
from .paths import PROFILES_DIR, PROJECT_ROOT
from .warehouse import DEFAULT_WAIT_SECONDS, busy_from, is_lock_error, wait_until_free

# dbt commands that only read the project, never the warehouse file: no lock to wait for
NO_WAREHOUSE_COMMANDS = {"parse", "ls", "list", "deps", "clean", "debug"}


def raise_if_locked(result, waited: float = 0.0) -> None:
    """A lock dbt met itself (another process was quicker than our wait) becomes WarehouseBusy (exit 3)."""
    if result.exception is not None and is_lock_error(result.exception):
        raise busy_from(result.exception, waited)


def point_dbt_at(warehouse: Path) -> None:
    """Environment for dbt and MetricFlow: project, profiles and the warehouse file."""
    os.environ["ANPR_WAREHOUSE"] = str(warehouse)
    os.environ["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
    os.environ["DBT_PROJECT_DIR"] = str(PROJECT_ROOT)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def run_dbt(args: list[str], warehouse: Path, wait: float = DEFAULT_WAIT_SECONDS) -> None:
    """`dbt <args>` on the warehouse; raises UserError when dbt reports a failure.

    dbt opens the file itself and only fails (with a traceback) when another process holds
    it, so first wait until this process could open it read-write; a lock dbt still meets
    (someone was quicker) becomes the same WarehouseBusy.
    """
    from dbt.cli.main import dbtRunner

    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; load deliveries first (anpr load) or run 'anpr run'")
    waited = wait_until_free(warehouse, wait) if args[0] not in NO_WAREHOUSE_COMMANDS else 0.0
    point_dbt_at(warehouse)
    result = dbtRunner().invoke(args + ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROFILES_DIR)])
    raise_if_locked(result, waited)
    if not result.success:
        detail = f": {result.exception}" if result.exception else " (see the failing nodes above)"
        raise UserError(f"dbt {args[0]} failed{detail}")
