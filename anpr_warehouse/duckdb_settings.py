"""The one place that says how much memory DuckDB may use, for dbt's connection and every Python one.

Why: DuckDB's default memory limit is 80 % of the machine (19 GiB on a 24 GiB box) and it keeps what it
read cached up to that limit, so a full build at national scale (N = 16) grew to 7.9 GB resident although
no step needs that much. With an explicit limit DuckDB evicts and spills to disk instead (hash tables,
sorts), which costs little here, and every phase stays under 4 GiB.

The settings are applied with SET on an open connection, never passed as `duckdb.connect(config=...)`:
DuckDB refuses a second connection to the same file in one process with a different configuration, and
many places (build, snapshot, metric layer, export) open the warehouse while dbt's connection is still
open. SET changes the database instance, so those later plain connections share the same limits.

dbt gets them from `anpr_warehouse.duckdb_plugin` (listed in profiles/profiles.yml); Python code that
opens its own DuckDB instance calls `apply_settings` right after `duckdb.connect`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from .errors import UserError

MEMORY_LIMIT_ENV = "ANPR_DUCKDB_MEMORY_LIMIT"
# Measured at N = 16 (68 M delivered rows), peak RSS with this limit, Python and dbt included: load 0.5 GB,
# full build 2.5 GB (7.9 GB without), one month 2.5 GB (4.0 GB without). Raise it on a bigger machine.
DEFAULT_MEMORY_LIMIT = "2GiB"


def memory_limit() -> str:
    """DuckDB's memory limit: $ANPR_DUCKDB_MEMORY_LIMIT (any size DuckDB reads, e.g. 3GB) or the default."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT


def settings() -> dict[str, str]:
    """The DuckDB settings of this project, by name.

    `preserve_insertion_order` stays at DuckDB's default (true) on purpose: turning it off saves
    buffering in large inserts, but then a table's rows are stored in a different order from run to
    run, and exports that order by one column only (ties in table order) would stop being byte-identical
    for the same warehouse. The memory limit alone keeps every phase under 4 GiB (benchmarks/results.md).
    """
    return {"memory_limit": memory_limit()}


def apply_settings(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Sets the project's DuckDB settings on `con`'s database instance; returns `con` for chaining.

    A database file spills beside itself (`<file>.tmp`, DuckDB's default, deliberately not set here:
    DuckDB refuses to change a temporary directory once used, and dbt's instance may have used it).
    A memory limit DuckDB cannot read is one clear error.
    """
    for name, value in settings().items():
        try:
            con.execute(f"set global {name} = '{value}'")
        except duckdb.Error:
            if name != "memory_limit":
                raise
            raise UserError(
                f"{MEMORY_LIMIT_ENV}={value!r} is not a memory size DuckDB understands (e.g. 2GiB, 3GB, 1500MB)"
            ) from None
    return con


def connect(database: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """`duckdb.connect` to a database file with the project's settings."""
    return apply_settings(duckdb.connect(str(database), read_only=read_only))


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str, database: str | None = None) -> bool:
    """Whether `database` (default: the connection's current one) has the table: the register, the build
    state and the audits are created by their first writer, so readers ask before they read."""
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = coalesce(?, current_database())"
        " and schema_name = ? and table_name = ?",
        [database, schema, table],
    ).fetchone()[0]
    return bool(found)


def connect_in_memory(spill_beside: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the project's settings, spilling beside `spill_beside` (the warehouse it
    will attach) or in the system temporary folder, never in the current directory (DuckDB's `.tmp`)."""
    spill = f"{spill_beside}.tmp" if spill_beside else str(Path(tempfile.gettempdir()) / "anpr-duckdb-spill")
    con = apply_settings(duckdb.connect())
    con.execute(f"set temp_directory = '{spill}'")
    return con
