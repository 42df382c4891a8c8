"""Every load is audited: the at-risk count of each delivery, kept beside the delivery register.

A table of its own (`raw.cbs_delivery_audits`) rather than columns in
`raw.cbs_deliveries`, so the register's DDL stays the loader's alone. Written in
the load's own transaction: a delivery is never loaded without its audit row.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb

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


def record_audit(con: duckdb.DuckDBPyConnection, db: str, checked) -> int | None:
    """Audits a checked delivery and stores its row; returns the at-risk count (None: layout not audited)."""
    from .cells import cells_from_checked
    from .run import audit_cells

    if checked.layout != "v1":
        return None
    result = audit_cells(cells_from_checked(checked), LOAD_AUDIT_MIN_CELL_RULE, jobs=os.cpu_count() or 1)
    con.execute(AUDITS_DDL.format(db=db))
    con.execute(f"delete from {db}.raw.{AUDITS} where delivery_id = ?", [result.delivery_id])
    con.execute(
        f"insert into {db}.raw.{AUDITS} values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.delivery_id, result.confidential, len(result.at_risk), result.exact, result.min_cell_rule,
            result.infeasible_components, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), round(result.seconds, 3),
        ],
    )
    return len(result.at_risk)


def audit_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """delivery_id -> cells at risk, for every audited delivery (empty before the first audited load)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = ?", [AUDITS]
    ).fetchone()[0]
    if not exists:
        return {}
    return dict(con.execute(f"select delivery_id, cells_at_risk from raw.{AUDITS}").fetchall())
