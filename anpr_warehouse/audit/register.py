"""Every load is audited: the at-risk count of each delivery, kept beside the delivery register.

A table of its own (`raw.cbs_delivery_audits`) rather than columns in
`raw.cbs_deliveries`, so the register's DDL stays the loader's alone. Written in
the load's own transaction: a delivery is never loaded without its audit row.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb

from ..duckdb_settings import table_exists

AUDITS = "cbs_delivery_audits"

AUDITS_DDL = """
create table if not exists {db}.raw.cbs_delivery_audits (
    delivery_id varchar primary key,
    cells_confidential bigint not null,
    cells_at_risk bigint not null,
    cells_exact bigint not null,
    min_cell_rule boolean not null,
    groups_not_audited integer not null,
    audited_at timestamp not null,
    seconds double not null
)
"""

# The register keeps the audit an attacker can do with the contract in hand: its SDC section
# states the min-cell rule, so the published-means->=min_cell knowledge is used.
LOAD_AUDIT_MIN_CELL_RULE = True


def audit_checked(checked):
    """Audits a checked delivery before the warehouse is opened for writing (None: layout not audited).

    The LPs take seconds on a big month; running them outside the load transaction keeps the
    warehouse's write lock as short as the insert itself.
    """
    from .cells import cells_from_checked
    from .run import audit_cells

    if checked.layout != "v1":
        return None
    return audit_cells(cells_from_checked(checked), LOAD_AUDIT_MIN_CELL_RULE, jobs=os.cpu_count() or 1)


def store_audit(con: duckdb.DuckDBPyConnection, db: str, result) -> int:
    """Stores an audit's row in the load's transaction; returns the at-risk count."""
    con.execute(AUDITS_DDL.format(db=db))
    con.execute(f"delete from {db}.raw.{AUDITS} where delivery_id = ?", [result.delivery_id])
    con.execute(
        f"insert into {db}.raw.{AUDITS} values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.delivery_id,
            result.confidential,
            len(result.at_risk),
            result.exact,
            result.min_cell_rule,
            result.infeasible_components,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            round(result.seconds, 3),
        ],
    )
    return len(result.at_risk)


def audit_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """delivery_id -> cells at risk, for every audited delivery (empty before the first audited load)."""
    if not table_exists(con, "raw", AUDITS):  # the current database's, which the query below reads
        return {}
    return dict(con.execute(f"select delivery_id, cells_at_risk from raw.{AUDITS}").fetchall())


def delivery_audits(con: duckdb.DuckDBPyConnection, delivery_ids: list[str]) -> list[dict]:
    """The stored audits of a vendor package's source deliveries, for its manifest (absent ones: not audited)."""
    if not delivery_ids or not audit_counts(con):
        return [{"delivery_id": ident, "audited": False} for ident in delivery_ids]
    found = {
        row[0]: {
            "delivery_id": row[0],
            "audited": True,
            "cells_confidential": row[1],
            "cells_at_risk": row[2],
            "cells_exact": row[3],
            "min_cell_rule": row[4],
            "audited_at": row[5].isoformat(timespec="seconds"),
        }
        for row in con.execute(
            f"""select delivery_id, cells_confidential, cells_at_risk, cells_exact, min_cell_rule, audited_at
                from raw.{AUDITS} where delivery_id in (select unnest(?))""",
            [delivery_ids],
        ).fetchall()
    }
    # an export --protect copy: say how many published cells the package hides on top of CBS's
    if table_exists(con, "raw", "cbs_package_protection"):
        for ident, hidden in con.execute(
            "select delivery_id, cells_suppressed from raw.cbs_package_protection where delivery_id in (select unnest(?))",
            [delivery_ids],
        ).fetchall():
            if ident in found:
                found[ident]["cells_suppressed_for_package"] = hidden
    return [found.get(ident, {"delivery_id": ident, "audited": False}) for ident in delivery_ids]


def export_warnings(packages: list) -> list[str]:
    """One line per written package whose source delivery has cells at risk (read from its manifest)."""
    import json

    lines = []
    for package in packages:
        manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
        for audit in manifest.get("sdc", {}).get("disclosure_audit", []):
            if audit.get("cells_at_risk"):
                lines.append(
                    f"warning: {package}: source delivery {audit['delivery_id']} has {audit['cells_at_risk']} confidential cells "
                    "at risk when its tables are read together (anpr audit); the package republishes them as CBS delivered"
                )
    return lines
