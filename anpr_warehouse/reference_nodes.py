"""Nodes that read no delivery (seeds, the dimensions built from them, their tests) are skipped when unchanged.

Why: a month's incremental build paid for reloading 12 seeds, rebuilding 9 reference dimensions and
running their 47 data tests every time, although nothing a delivery brings can change them: only their
code or their seed files can. So after a successful build `anpr build` stores a fingerprint of that
subtree (each node's checksum and config, the project's macros), and an incremental build whose
fingerprint matches excludes the subtree from `dbt build`. A changed seed or model, a warehouse built
before this existed, or `--full-refresh` builds and tests everything as before.

Unit tests are the same kind of node: they test the models' code on fixed rows, never a delivery. So
they run when any model, seed, macro or unit test changed since the last successful build (always on
`--full-refresh`, on a new warehouse, and in CI, whose builds start from none), and are skipped on
the monthly builds in between, where they cost seconds and could not fail.
"""

from __future__ import annotations

import duckdb

from .code_fingerprint import code_fingerprint

STATE_SCHEMA = "build_state"
STATE_TABLE = f"{STATE_SCHEMA}.fingerprints"
KIND = "reference_nodes"
UNIT_TESTS_KIND = "unit_tests"
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
    project = next(iter(nodes)).package_name if nodes else ""
    return code_fingerprint([_code(node) for node in nodes], _macros(manifest, project))


def unit_tests_fingerprint(manifest) -> str:
    """What the unit tests exercise: every model, seed and snapshot, the unit tests themselves, the macros."""
    unit_tests = [test for _, test in sorted((getattr(manifest, "unit_tests", None) or {}).items())]
    if not unit_tests:
        return ""
    nodes = [node for _, node in sorted(manifest.nodes.items()) if _kind(node) in ("model", "seed", "snapshot")]
    return code_fingerprint([_code(node) for node in nodes + unit_tests], _macros(manifest, unit_tests[0].package_name))


def exclusions(con: duckdb.DuckDBPyConnection, manifest) -> list[str]:
    """`--exclude` arguments for what the warehouse built (and passed) exactly as it is now, else []."""
    skip = []
    nodes = reference_nodes(manifest)
    if nodes and _stored(con, KIND) == fingerprint(manifest, nodes) and _all_built(con, nodes):
        skip += [node.name for node in nodes]
    unit_tests = unit_tests_fingerprint(manifest)
    if unit_tests and _stored(con, UNIT_TESTS_KIND) == unit_tests:
        skip.append("resource_type:unit_test")
    return ["--exclude", *skip] if skip else []


def remember(con: duckdb.DuckDBPyConnection, manifest) -> None:
    """After a successful build of everything: the subtree this warehouse now holds, the code its unit tests passed."""
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    con.execute(f"create table if not exists {STATE_TABLE} (kind varchar primary key, fingerprint varchar, built_at timestamp)")
    for kind, value in (
        (KIND, fingerprint(manifest, reference_nodes(manifest))),
        (UNIT_TESTS_KIND, unit_tests_fingerprint(manifest)),
    ):
        con.execute(f"insert or replace into {STATE_TABLE} values (?, ?, current_timestamp::timestamp)", [kind, value])


def _code(node) -> tuple[str, str, dict]:
    checksum = getattr(node.checksum, "checksum", node.checksum)  # a node's FileHash, a unit test's plain string
    return node.unique_id, checksum, node.config.to_dict()


def _macros(manifest, project: str) -> list[tuple[str, str]]:
    return [(unique_id, macro.macro_sql) for unique_id, macro in sorted(manifest.macros.items()) if macro.package_name == project]


def _stored(con: duckdb.DuckDBPyConnection, kind: str) -> str | None:
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        STATE_TABLE.split("."),
    ).fetchone()[0]
    if not found:
        return None
    row = con.execute(f"select fingerprint from {STATE_TABLE} where kind = ?", [kind]).fetchone()
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
