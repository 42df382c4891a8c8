"""Writing a snapshot's tables: whole, or as the previous snapshot with only the changed partitions replaced.

Why: copying and hashing every mart into a new file on every build made a month's incremental run
cost as much as the full build. Marts partitioned by delivery (meta `partitioned_by_delivery`, see
macros/incremental_partitions.sql) hold, per municipality-month, the rows of the one delivery that
flows there, and the build only ever replaces whole deliveries. So a new snapshot can start as a byte
copy of the previous one (a sequential file copy, no decoding) and then, per partitioned mart:

- delete the deliveries the warehouse no longer has, or has with a different row count;
- delete the deliveries whose rows carry attributes "as last delivered" of a dimension that changed
  since (the model's `partition_drift`, the same rule the build applies);
- insert those deliveries' rows from the warehouse.

Everything else (dimensions, views, the register, the audits, any table whose columns changed) is
rewritten whole, as before.

With nothing to start from (the first snapshot, a full refresh, a changed project, a compaction) the
snapshot is a byte copy of the warehouse file itself, checkpointed first, with everything readers do
not get dropped from the copy and the marts' views materialised. Why: writing every mart through
DuckDB decodes and re-encodes every row (at N = 4, 20 CPU s for 18 M mart rows, mostly the md5 id
columns); a sequential file copy and a few drops cost 0.7 CPU s. The price is space: the dropped
relations (the raw layer, staging) and whatever the warehouse had freed leave free blocks, so the file
is as large as the warehouse (at N = 4 after a full refresh 1.0 GB instead of 0.4 GB); DuckDB reuses
them when a later snapshot patches partitions into its copy. Those free
blocks hold bytes of warehouse relations only (the raw layer's delivered cells, guarded against plates
at load), nothing a snapshot reader could not already see in the warehouse. The result is its own file, like a fully written one: immutable once
published, nothing shared with other snapshots, so removing an old snapshot can never break a live one.

The previous snapshot is reused only when it was written from the same warehouse path by the same
project (a fingerprint of every model's, seed's and macro's code and config in dbt's manifest) and
the build was incremental; a full refresh, a `--select` build or a changed project writes everything.
Deleted rows leave free space in the copied file, so once it has grown by half over its last whole
write (and by more than 64 MiB: a small file grows by whole blocks), the next snapshot is written whole
again (compacted).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import step_times
from .code_fingerprint import code_fingerprint
from .duckdb_settings import connect

# Schemas copied whole (every table and view, views materialised).
COPIED_SCHEMAS = ("marts",)
REGISTER_SOURCE = "raw.cbs_deliveries"  # copied under the same name: analysts' queries and export.py work unchanged
# Further relations readers use, copied under the same names when the warehouse has them: the load audits.
READER_RELATIONS = ("raw.cbs_delivery_audits",)
PARTITION_COLUMN = "delivery_id"
COMPACT_GROWTH = 1.5  # rewrite whole once the reused file is this much larger than its last whole write
COMPACT_MIN_BYTES = 64 * 2**20  # and larger by at least this: a small file grows by whole blocks per patched table


@dataclass(frozen=True)
class Previous:
    """The snapshot a new one may start from."""

    database: Path
    compact_bytes: int
    partitioned: frozenset[str]  # marts whose model is partitioned by delivery: the only ones patched
    drift: dict  # mart name -> partition_drift meta of its model


@dataclass
class Written:
    """What was written: table -> [rows, content hash], and how (for the marker and the step times)."""

    tables: dict
    reused_from: str | None
    compact_bytes: int
    partitions_replaced: int = 0


def project_fingerprint(dbt_manifest: Path) -> str:
    """A hash of the code and config of every model, seed, snapshot and macro of the project (code_fingerprint.py)."""
    try:
        manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    project = manifest.get("metadata", {}).get("project_name", "anpr_warehouse")
    nodes = [
        (unique_id, (node.get("checksum") or {}).get("checksum", ""), node.get("config") or {})
        for unique_id, node in sorted((manifest.get("nodes") or {}).items())
        if node.get("resource_type") in ("model", "seed", "snapshot")
    ]
    macros = [
        (unique_id, macro.get("macro_sql") or "")
        for unique_id, macro in sorted((manifest.get("macros") or {}).items())
        if macro.get("package_name") == project
    ]
    return code_fingerprint(nodes, macros)


def partitioned_marts(dbt_manifest: Path) -> tuple[frozenset[str], dict]:
    """(marts whose model is partitioned by delivery, mart -> its partition_drift meta) from dbt's manifest.

    Only these marts are patched: other tables with a delivery_id (dim_delivery, the register) change
    rows of a delivery in place (its status, when it was superseded) and are written whole.
    """
    try:
        manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset(), {}
    models = [node for node in (manifest.get("nodes") or {}).values() if node.get("resource_type") == "model"]
    partitioned = frozenset(
        node.get("alias") or node["name"]
        for node in models
        if node.get("schema") in COPIED_SCHEMAS and ((node.get("config") or {}).get("meta") or {}).get("partitioned_by_delivery")
    )
    where = {node["name"]: f'"{node.get("schema")}"."{node.get("alias") or node["name"]}"' for node in models}
    drift = {}
    for node in models:
        meta = (node.get("config") or {}).get("meta") or {}
        found = meta.get("partition_drift")
        if node.get("schema") in COPIED_SCHEMAS and found and found.get("relation") in where:
            drift[node.get("alias") or node["name"]] = {**found, "relation": where[found["relation"]]}
    return partitioned, drift


def write_tables(warehouse: Path, database: Path, previous: Previous | None) -> Written:
    """Writes the reader relations into `database`: patched from `previous` where it can, else whole.

    The warehouse is opened like dbt opens it (read-write, same process instance), so publishing
    right after an in-process `dbt build` does not clash with dbt's handle.
    """
    if previous is not None and _grown(previous.database.stat().st_size, previous.compact_bytes):
        previous = None  # too much free space from deleted partitions: compact by writing whole
    if previous is not None:
        with step_times.timed("snapshot_copy_file_s"):
            shutil.copyfile(previous.database, database)
    con = connect(warehouse)
    try:
        con.execute("set enable_progress_bar = false")  # `anpr build` prints one line about the snapshot, not bars
        whole_copy = previous is None and _copy_warehouse_file(con, warehouse, database)
        con.execute(f"attach '{database}' as snap")
        copies = _reader_relations(con)
        replaced = 0
        if whole_copy:
            with step_times.timed("snapshot_prune_s"):
                _keep_only(con, copies)
        for schema in sorted({schema for schema, _, _ in copies}):
            con.execute(f'create schema if not exists snap."{schema}"')
        _drop_gone(con, {(schema, name) for schema, name, _ in copies})
        tables = {}
        for schema, name, is_table in copies:
            source, copy = f'"{schema}"."{name}"', f'snap."{schema}"."{name}"'
            patched = None
            if previous is not None and is_table and name in previous.partitioned and _same_columns(con, schema, name):
                with step_times.timed("snapshot_patch_s"):
                    patched = _replace_changed_partitions(con, source, copy, previous.drift.get(name))
            if patched is None and not (whole_copy and is_table):
                with step_times.timed("snapshot_whole_s"):
                    con.execute(f"create or replace table {copy} as select * from {source}")
            elif patched is not None:
                replaced += patched
            # row counts everywhere; a content hash of the register only (small): marts follow from it and the manifests
            content = "select count(*), coalesce(sum(hash(t)), 0)" if source == '"raw"."cbs_deliveries"' else "select count(*), 0"
            count, digest = con.execute(f"{content} from {copy} as t").fetchone()
            tables[f"{schema}.{name}"] = [count, str(digest)]
        con.execute("detach snap")
    finally:
        con.close()
    step_times.add("snapshot_partitions_replaced", replaced)
    size = database.stat().st_size
    return Written(
        tables,
        reused_from=previous.database.parent.name if previous else None,
        compact_bytes=previous.compact_bytes if previous else size,
        partitions_replaced=replaced,
    )


def _grown(size: int, compact_bytes: int) -> bool:
    """Whether a reused file has grown enough over its last whole write to be written whole again."""
    return size > COMPACT_GROWTH * compact_bytes and size - compact_bytes > COMPACT_MIN_BYTES


def _copy_warehouse_file(con: duckdb.DuckDBPyConnection, warehouse: Path, database: Path) -> bool:
    """Copies the warehouse file to `database` once a checkpoint has written everything into it; whether it did.

    `con` holds the warehouse open (its lock keeps every other process from writing while the file is
    copied). If the checkpoint leaves a write-ahead log behind (a transaction still open on dbt's
    connection), the file alone is not the warehouse: nothing is copied and the tables are written whole.
    """
    try:
        con.execute("checkpoint")
    except duckdb.Error:
        return False
    wal = Path(f"{warehouse}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False
    with step_times.timed("snapshot_copy_warehouse_s"):
        shutil.copyfile(warehouse, database)
    return True


def _keep_only(con: duckdb.DuckDBPyConnection, copies: list[tuple[str, str, bool]]) -> None:
    """Drops from the attached copy of the warehouse (`snap`) every relation readers do not get.

    Views of the copied schemas are dropped too and written as tables by the caller (their definitions
    name the warehouse's catalog and relations a snapshot does not carry).
    """
    tables = {(schema, name) for schema, name, is_table in copies if is_table}
    schemas = {schema for schema, _, _ in copies}
    for (schema,) in con.execute(
        "select schema_name from duckdb_schemas() where database_name = 'snap' and not internal and schema_name <> 'main'"
    ).fetchall():
        if schema not in schemas:
            con.execute(f'drop schema snap."{schema}" cascade')
    for schema, name in con.execute(
        "select schema_name, view_name from duckdb_views() where database_name = 'snap' and not internal"
    ).fetchall():
        con.execute(f'drop view snap."{schema}"."{name}"')
    for schema, name in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'snap'"
    ).fetchall():
        if (schema, name) not in tables:
            con.execute(f'drop table snap."{schema}"."{name}"')


def _reader_relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
    """(schema, name, is a table) of every relation a snapshot carries that the warehouse has."""
    present = con.execute(
        """select schema_name, table_name, true from duckdb_tables() where database_name = current_database()
           union all
           select schema_name, view_name, false from duckdb_views() where database_name = current_database() and not internal
           order by 1, 2"""
    ).fetchall()
    wanted = {REGISTER_SOURCE, *READER_RELATIONS}
    relations = [(s, n, t) for s, n, t in present if s in COPIED_SCHEMAS or f"{s}.{n}" in wanted]
    return [(s, n, bool(t)) for s, n, t in relations]


def _drop_gone(con: duckdb.DuckDBPyConnection, keep: set[tuple[str, str]]) -> None:
    """Drops relations of the copied snapshot that the warehouse no longer has (a mart removed)."""
    for schema, name in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'snap'"
    ).fetchall():
        if (schema, name) not in keep:
            con.execute(f'drop table snap."{schema}"."{name}"')


def _same_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether the copied table has the warehouse relation's columns (names, types, order)."""
    query = """select list(column_name || ' ' || data_type order by column_index) from duckdb_columns()
               where database_name = ? and schema_name = ? and table_name = ?"""
    here = con.execute(query, [con.execute("select current_database()").fetchone()[0], schema, name]).fetchone()[0]
    there = con.execute(query, ["snap", schema, name]).fetchone()[0]
    return bool(here) and here == there and f"{PARTITION_COLUMN} VARCHAR" in here


def _replace_changed_partitions(con: duckdb.DuckDBPyConnection, source: str, copy: str, drift: dict | None) -> int | None:
    """Replaces the deliveries of `copy` that differ from `source`; how many, or None to write whole instead.

    A delivery differs when one side lacks it, the row counts differ, or (with drift) its rows carry a
    dimension attribute that is no longer the dimension's.
    """
    counts = f"select {PARTITION_COLUMN}, count(*) as n from {{}} group by all"
    changed = {
        row[0]
        for row in con.execute(
            f"""select coalesce(here.{PARTITION_COLUMN}, there.{PARTITION_COLUMN})
                from ({counts.format(source)}) as here
                full join ({counts.format(copy)}) as there on here.{PARTITION_COLUMN} = there.{PARTITION_COLUMN}
                where here.n is distinct from there.n"""
        ).fetchall()
    }
    if any(delivery is None for delivery in changed):
        return None  # rows without a delivery: not partitioned after all
    if drift:
        changed |= _drifted(con, copy, drift)
    if not changed:
        return 0
    ids = ", ".join("'" + d.replace("'", "''") + "'" for d in sorted(changed))
    con.execute(f"delete from {copy} where {PARTITION_COLUMN} in ({ids})")
    con.execute(f"insert into {copy} select * from {source} where {PARTITION_COLUMN} in ({ids})")
    return len(changed)


def _drifted(con: duckdb.DuckDBPyConnection, copy: str, drift: dict) -> set[str]:
    """Deliveries of the copied mart whose dimension attributes differ from the warehouse's dimension now."""
    key, columns = drift["key"], drift["columns"]
    relation = drift["relation"]  # quoted schema and name, resolved by mart_drift
    differs = " or ".join(f"stored.{mine} is distinct from now_known.{theirs}" for mine, theirs in columns.items())
    rows = con.execute(
        f"""select distinct stored.{PARTITION_COLUMN} from {copy} as stored
            left join (select distinct {key}, {", ".join(columns.values())} from {relation}) as now_known
              on stored.{key} = now_known.{key}
            where {differs}"""
    ).fetchall()
    return {r[0] for r in rows}
