"""Nodes that read no delivery (seeds, the dimensions built from them, their tests) are skipped when unchanged.

Why: a month's incremental build paid for reloading 12 seeds, rebuilding 9 reference dimensions and
running their 47 data tests every time, although nothing a delivery brings can change them: only their
code or their seed files can. So after a successful build `anpr build` stores a fingerprint of that
subtree (each node's checksum and config, the project's macros), and an incremental build whose
fingerprint matches excludes the subtree from `dbt build`. A changed seed or model, a warehouse built
before this existed, or `--full-refresh` builds and tests everything as before.
"""

from __future__ import annotations

import hashlib
import json

import duckdb

STATE_SCHEMA = "build_state"
STATE_TABLE = f"{STATE_SCHEMA}.fingerprints"
KIND = "reference_nodes"
BUILT_KINDS = ("seed", "model", "test")


def reference_nodes(manifest) -> list:
    """Seeds, models and tests none of whose ancestors is a source (a delivery table), in a stable order."""
    nodes = manifest.nodes
    reads_delivery: dict[str, bool] = {}

    def reads(unique_id: str) -> bool:
        if unique_id.startswith("source."):
            return True
        if unique_id not in reads_delivery:
            reads_delivery[unique_id] = False  # a cycle cannot occur in dbt's graph; this only ends recursion
            node = nodes.get(unique_id)
            parents = getattr(getattr(node, "depends_on", None), "nodes", None) or []  # seeds: macros only
            reads_delivery[unique_id] = any(reads(parent) for parent in parents)
        return reads_delivery[unique_id]

    return [node for unique_id, node in sorted(nodes.items()) if _kind(node) in BUILT_KINDS and not reads(unique_id)]


def fingerprint(manifest, nodes: list) -> str:
    """The subtree's code and config, and every macro of the project (tests and materialisations use them)."""
    parts = [
        f"{node.unique_id}:{node.checksum.checksum}:{json.dumps(node.config.to_dict(), sort_keys=True, default=str)}"
        for node in nodes
    ]
    project = next(iter(nodes)).package_name if nodes else ""
    parts += [
        f"{unique_id}:{hashlib.sha256(macro.macro_sql.encode()).hexdigest()}"
        for unique_id, macro in sorted(manifest.macros.items())
        if macro.package_name == project
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def exclusions(con: duckdb.DuckDBPyConnection, manifest) -> list[str]:
    """`--exclude` arguments for the reference subtree when the warehouse built exactly it before, else []."""
    nodes = reference_nodes(manifest)
    if not nodes or _stored(con) != fingerprint(manifest, nodes) or not _all_built(con, nodes):
        return []
    return ["--exclude", *(node.name for node in nodes)]


def remember(con: duckdb.DuckDBPyConnection, manifest) -> None:
    """After a successful build of everything: the subtree this warehouse now holds."""
    nodes = reference_nodes(manifest)
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    con.execute(f"create table if not exists {STATE_TABLE} (kind varchar primary key, fingerprint varchar, built_at timestamp)")
    con.execute(
        f"insert or replace into {STATE_TABLE} values (?, ?, current_timestamp::timestamp)", [KIND, fingerprint(manifest, nodes)]
    )


def _stored(con: duckdb.DuckDBPyConnection) -> str | None:
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        STATE_TABLE.split("."),
    ).fetchone()[0]
    if not found:
        return None
    row = con.execute(f"select fingerprint from {STATE_TABLE} where kind = ?", [KIND]).fetchone()
    return row[0] if row else None


def _all_built(con: duckdb.DuckDBPyConnection, nodes: list) -> bool:
    """Every seed and table model of the subtree is still in the warehouse (nobody dropped one by hand)."""
    wanted = {(node.schema, node.alias) for node in nodes if _kind(node) in ("seed", "model")}
    present = set(
        con.execute(
            """select schema_name, table_name from duckdb_tables() where database_name = current_database()
               union all select schema_name, view_name from duckdb_views() where database_name = current_database()"""
        ).fetchall()
    )
    return wanted <= present


def _kind(node) -> str:
    """'seed', 'model', 'test'...: dbt's NodeType or a plain string."""
    return str(getattr(node.resource_type, "value", node.resource_type))
