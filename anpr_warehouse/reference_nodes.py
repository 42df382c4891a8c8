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

Views are the same kind of node too: a view holds no rows, and DuckDB binds its query each time it is read
(new rows, and new columns under a `select *`, show through), so creating it again only matters when
its SQL would differ: its code, its config, the relations it and its parents are, the macros. A month's
build skips the views whose fingerprint is what the last successful build left (view_exclusions); their
data tests still run.

The same goes, per delivery layout, for the staging views of one layout and the data tests that read
only that layout's new rows (layout_nodes): a month with only v1 deliveries skips the legacy ones and
the reverse, while their code is as last built (a fingerprint per layout, kept like the one above).

A stored fingerprint claims "these nodes are as this code built them", so a build forgets every claim
it does not rely on before it starts (forget_all_but): the nodes of those kinds are rebuilt, and only a
successful build stores their fingerprints again. Without that, code A (built, stored), then code B
(its nodes rebuilt as B, the build fails: nothing stored), then A again would skip nodes still B's.
"""

from __future__ import annotations

import duckdb

from .code_fingerprint import code_fingerprint
from .duckdb_settings import table_exists

STATE_SCHEMA = "build_state"
STATE_TABLE = f"{STATE_SCHEMA}.fingerprints"
KIND = "reference_nodes"
UNIT_TESTS_KIND = "unit_tests"
BUILT_KINDS = ("seed", "model", "test")
LAYOUT_KIND = "layout_nodes"
VIEWS_KIND = "views"
LEGACY, V1 = "legacy", "v1"  # raw.cbs_deliveries.layout
LEGACY_SOURCE = "cbs_legacy"  # the dbt source of the legacy layout's tables; every other one is v1
REGISTER_SOURCE = "source.anpr_warehouse.cbs.cbs_deliveries"
REGISTER_MODELS = ("stg_cbs__deliveries", "base_cbs__flowing_deliveries")  # as get_where_subquery.sql


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


def exclusions(con: duckdb.DuckDBPyConnection, manifest, relied_on: set[str] | None = None) -> list[str]:
    """`--exclude` arguments for what the warehouse built (and passed) exactly as it is now, else [].

    `relied_on` collects the kinds whose stored fingerprint a skip rests on (see forget_all_but); the same
    for layout_exclusions and view_exclusions.
    """
    skip = []
    nodes = reference_nodes(manifest)
    if nodes and _stored(con, KIND) == fingerprint(manifest, nodes) and _all_built(con, nodes):
        skip += [node.name for node in nodes]
        _rely_on(relied_on, KIND)
    unit_tests = unit_tests_fingerprint(manifest)
    if unit_tests and _stored(con, UNIT_TESTS_KIND) == unit_tests:
        skip.append("resource_type:unit_test")
        _rely_on(relied_on, UNIT_TESTS_KIND)
    return ["--exclude", *skip] if skip else []


def layout_nodes(manifest) -> dict[str, list]:
    """Per delivery layout ('v1', 'legacy'): the nodes that only that layout's deliveries can change.

    The staging views reading only that layout's raw tables (a view holds no rows: rebuilding it only
    matters when its code changed) and the data tests scoped to new deliveries (macros/get_where_subquery.sql)
    of models reading only that layout. In a build whose new deliveries are all of the other layout such a
    test reads no row, so it cannot fail. Incremental models are never among them: they must still delete
    the partitions of deliveries that stopped flowing.
    """
    nodes = manifest.nodes
    sources = _delivery_sources(manifest)
    found: dict[str, list] = {LEGACY: [], V1: []}
    for unique_id, node in sorted(nodes.items()):
        kind = _kind(node)
        if kind == "model" and getattr(node.config, "materialized", None) == "view":
            layout = _only_layout(sources(unique_id))
        elif kind == "test" and _scoped_to_new_deliveries(nodes.get(getattr(node, "attached_node", None) or "")):
            layout = _only_layout(sources(node.attached_node))
        else:
            continue
        if layout:
            found[layout].append(node)
    return found


def layout_exclusions(
    con: duckdb.DuckDBPyConnection, manifest, new_layouts: set[str], relied_on: set[str] | None = None
) -> list[str]:
    """Names of the layout nodes to leave out: no new delivery of their layout, code as last built, views present."""
    skip = []
    for layout, nodes in layout_nodes(manifest).items():
        if layout in new_layouts or not nodes:
            continue
        kind = f"{LAYOUT_KIND}:{layout}"
        if _stored(con, kind) == views_fingerprint(manifest, nodes) and _all_built(con, nodes):
            skip += [node.name for node in nodes]
            _rely_on(relied_on, kind)
    return skip


def view_nodes(manifest) -> list:
    """Every model materialised as a view, in a stable order."""
    return [
        node
        for _, node in sorted(manifest.nodes.items())
        if _kind(node) == "model" and getattr(node.config, "materialized", None) == "view"
    ]


def views_fingerprint(manifest, nodes: list) -> str:
    """The nodes' code and config, the relation each is and reads, and the project's macros: what their SQL is made of.

    Used for the views and for the layout nodes (views and tests): a node whose own code is unchanged still
    compiles to different SQL when a relation it reads is renamed (e.g. an alias given to a parent), so the
    relations are part of what a skip compares (found by review: the layout skip compared code alone).
    """
    sources = getattr(manifest, "sources", None) or {}

    def relation(unique_id: str) -> list:
        found = manifest.nodes.get(unique_id) or sources.get(unique_id)
        if found is None:
            return [unique_id]
        return [getattr(found, "database", None), found.schema, getattr(found, "identifier", None) or found.alias]

    parts = []
    for node in nodes:
        unique_id, checksum, config = _code(node)
        reads = [relation(parent) for parent in getattr(node.depends_on, "nodes", None) or []]
        parts.append((unique_id, checksum, {**config, "anpr_relation": relation(unique_id), "anpr_reads": reads}))
    project = nodes[0].package_name if nodes else ""
    return code_fingerprint(parts, _macros(manifest, project))


def view_exclusions(con: duckdb.DuckDBPyConnection, manifest, relied_on: set[str] | None = None) -> list[str]:
    """Names of the views to leave out: every view as the last successful build created it, and still there."""
    nodes = view_nodes(manifest)
    if nodes and _stored(con, VIEWS_KIND) == views_fingerprint(manifest, nodes) and _all_built(con, nodes):
        _rely_on(relied_on, VIEWS_KIND)
        return [node.name for node in nodes]
    return []


def forget_all_but(con: duckdb.DuckDBPyConnection, kept: set[str]) -> None:
    """Before a build: drops every stored fingerprint but those its skips rely on.

    Why: the nodes of every other kind are rebuilt by this build, so their stored fingerprint no longer
    says what the warehouse holds until the build succeeds and `remember` stores it again. A build that
    fails (or a `--select` or `--full-refresh` build, which keep nothing) must not leave a claim behind
    that a later build of the old code would trust.
    """
    if table_exists(con, *STATE_TABLE.split(".")):
        con.execute(f"delete from {STATE_TABLE} where not list_contains(?::varchar[], kind)", [sorted(kept)])


def remember(con: duckdb.DuckDBPyConnection, manifest) -> None:
    """After a successful build of everything: the subtree this warehouse now holds, the code its unit tests passed."""
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    con.execute(f"create table if not exists {STATE_TABLE} (kind varchar primary key, fingerprint varchar, built_at timestamp)")
    layouts = [
        (f"{LAYOUT_KIND}:{layout}", views_fingerprint(manifest, nodes)) for layout, nodes in layout_nodes(manifest).items()
    ]
    for kind, value in (
        (KIND, fingerprint(manifest, reference_nodes(manifest))),
        (UNIT_TESTS_KIND, unit_tests_fingerprint(manifest)),
        (VIEWS_KIND, views_fingerprint(manifest, view_nodes(manifest))),
        *layouts,
    ):
        con.execute(f"insert or replace into {STATE_TABLE} values (?, ?, current_timestamp::timestamp)", [kind, value])


def _rely_on(relied_on: set[str] | None, kind: str) -> None:
    if relied_on is not None:
        relied_on.add(kind)


def _delivery_sources(manifest):
    """unique_id -> the delivery tables (sources, the register aside) it reads, directly or through its parents."""
    memo: dict[str, frozenset[str]] = {}

    def sources(unique_id: str) -> frozenset[str]:
        if unique_id.startswith("source."):
            return frozenset() if unique_id == REGISTER_SOURCE else frozenset([unique_id])
        if unique_id not in memo:
            memo[unique_id] = frozenset()  # ends recursion; dbt's graph has no cycles
            node = manifest.nodes.get(unique_id)
            parents = getattr(getattr(node, "depends_on", None), "nodes", None) or []
            memo[unique_id] = frozenset().union(*(sources(parent) for parent in parents))
        return memo[unique_id]

    return sources


def _only_layout(sources: frozenset[str]) -> str | None:
    layouts = {LEGACY if source.split(".")[2] == LEGACY_SOURCE else V1 for source in sources}
    return layouts.pop() if len(layouts) == 1 else None


def _scoped_to_new_deliveries(model) -> bool:
    """Whether get_where_subquery.sql limits this model's tests to the new deliveries' rows (its rule, in Python)."""
    if model is None or _kind(model) != "model" or "delivery_id" not in (getattr(model, "columns", None) or {}):
        return False
    return bool((getattr(model.config, "meta", None) or {}).get("partitioned_by_delivery")) or (
        len(model.fqn) > 1 and model.fqn[1] == "staging" and model.name not in REGISTER_MODELS
    )


def _code(node) -> tuple[str, str, dict]:
    checksum = getattr(node.checksum, "checksum", node.checksum)  # a node's FileHash, a unit test's plain string
    return node.unique_id, checksum, node.config.to_dict()


def _macros(manifest, project: str) -> list[tuple[str, str]]:
    return [(unique_id, macro.macro_sql) for unique_id, macro in sorted(manifest.macros.items()) if macro.package_name == project]


def _stored(con: duckdb.DuckDBPyConnection, kind: str) -> str | None:
    if not table_exists(con, *STATE_TABLE.split(".")):
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
