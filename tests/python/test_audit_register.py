"""The audit register reads the warehouse it is given, not a same-named table in another attached database."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb

from anpr_warehouse.audit.register import audit_counts, delivery_audits, store_audit


def _audit(delivery_id: str, at_risk: int) -> SimpleNamespace:
    """The fields of an `AuditResult` that `store_audit` keeps."""
    return SimpleNamespace(
        delivery_id=delivery_id,
        confidential=100,
        at_risk=[object()] * at_risk,
        exact=0,
        min_cell_rule=True,
        infeasible_components=0,
        seconds=1.0,
    )


def test_an_attached_database_with_the_same_tables_does_not_fool_the_register(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema raw")
    con.execute(f"attach '{tmp_path / 'other.duckdb'}' as other")
    con.execute("create schema other.raw")
    store_audit(con, "other", _audit("CBS-OTHER-1", 7))
    con.execute("create table other.raw.cbs_package_protection (delivery_id varchar, cells_suppressed bigint)")
    con.execute("insert into other.raw.cbs_package_protection values ('CBS-OURS-1', 3)")

    # the warehouse itself has no audits yet: the other database's tables must not count
    assert audit_counts(con) == {}
    assert delivery_audits(con, ["CBS-OURS-1"]) == [{"delivery_id": "CBS-OURS-1", "audited": False}]

    # once the warehouse has its own audit, it is read from the warehouse (and the other's protection table ignored)
    store_audit(con, "warehouse", _audit("CBS-OURS-1", 2))
    assert audit_counts(con) == {"CBS-OURS-1": 2}
    (ours,) = delivery_audits(con, ["CBS-OURS-1"])
    assert ours["audited"] and ours["cells_at_risk"] == 2
    assert "cells_suppressed_for_package" not in ours
