"""Small helpers around the warehouse file that several commands share."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from .errors import UserError


def connect_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; load a delivery first (anpr load) or run 'anpr run'")
    return duckdb.connect(str(warehouse), read_only=True)


def print_register(warehouse: Path) -> int:
    """The delivery register, with each delivery's build status and whether it flows on to the marts."""
    con = connect_read_only(warehouse)
    try:
        has_build = bool(con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'raw' and table_name = 'cbs_deliveries' and column_name = 'build_status'"
        ).fetchone()[0])
        flowing = _flowing_deliveries(con)
        build = "coalesce(build_status, 'not built')" if has_build else "'not built'"
        failure = "coalesce(build_failure, '')" if has_build else "''"
        rows = con.execute(
            f"""select delivery_id, layout, municipality_code, period_code, version, status,
                      coalesce(superseded_by, ''), row_count, strftime(loaded_at, '%Y-%m-%d %H:%M:%S'), {build}, {failure}
               from raw.cbs_deliveries order by municipality_code, period_code, version, loaded_at"""
        ).fetchall()
    finally:
        con.close()
    rows = [(*row[:9], row[9], "yes" if flowing and row[0] in flowing else "", row[10]) for row in rows]
    header = ("delivery_id", "layout", "municipality", "period", "version", "status", "superseded_by", "rows", "loaded_at (UTC)",
              "build", "flows", "build_failure")
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _flowing_deliveries(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """Deliveries staging passes on (stg_cbs__deliveries.is_flowing); None before a build created that view."""
    try:
        return {r[0] for r in con.execute("select delivery_id from staging.stg_cbs__deliveries where is_flowing").fetchall()}
    except duckdb.Error:
        return None


def table_checksums(warehouse: Path, schema: str = "raw") -> dict[str, str]:
    """A content checksum per table of `schema` (order-independent), to prove a refusal changed nothing."""
    con = connect_read_only(warehouse)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]
        ).fetchall()]
        sums = {}
        for table in tables:
            digest = con.execute(
                f"select count(*), coalesce(sum(hash(t)), 0) from {schema}.{table} as t"
            ).fetchone()
            sums[table] = hashlib.sha256(repr(digest).encode()).hexdigest()
        return sums
    finally:
        con.close()
