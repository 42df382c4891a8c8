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
    con = connect_read_only(warehouse)
    try:
        rows = con.execute(
            """select delivery_id, layout, municipality_code, period_code, version, status,
                      coalesce(superseded_by, ''), row_count, strftime(loaded_at, '%Y-%m-%d %H:%M:%S')
               from raw.cbs_deliveries order by municipality_code, period_code, version, loaded_at"""
        ).fetchall()
        from .audit.register import audit_counts  # disclosure audit: cells at risk per delivery

        at_risk = audit_counts(con)
        rows = [row + (at_risk.get(row[0], ""),) for row in rows]
    finally:
        con.close()
    header = ("delivery_id", "layout", "municipality", "period", "version", "status", "superseded_by", "rows", "loaded_at (UTC)", "at_risk")
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


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
