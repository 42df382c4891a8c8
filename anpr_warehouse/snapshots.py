"""Published snapshots: immutable read-only copies of what readers need, next to the warehouse.

The warehouse file is locked for writing while `anpr load` or `anpr build` runs,
and a reader holding it open makes a load fail. So readers (the vendor API,
analysts) never open it: `anpr build` ends by publishing a snapshot,

    <warehouse dir>/snapshots/<id>/<warehouse stem>.duckdb   marts.*, raw.cbs_deliveries (the register), what flows, audits
    <warehouse dir>/snapshots/<id>/semantic_manifest.json    the metric definitions it was built with
    <warehouse dir>/snapshots/<id>/manifest.json             dbt's docs of every column
    <warehouse dir>/snapshots/<id>/COMPLETE                  written last: the snapshot is whole

and then switches `snapshots/CURRENT` (tmp file + os.replace) and the stable
path `<warehouse dir>/current.duckdb` (a symlink swapped with os.replace), both
atomically. A file nobody writes can be opened read-only by many processes at
once. The DuckDB file keeps the warehouse's stem so its catalog has the name the
semantic manifest's SQL uses (`"anpr"."marts"."fct_..."`).

Old snapshots are removed after a grace period, so a reader that has just
resolved the pointer can still open what it found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .duckdb_settings import apply_settings
from .errors import UserError
from .paths import PROJECT_ROOT

COMPLETE_MARKER = "COMPLETE"
POINTER = "CURRENT"
KEEP_NEWEST = 3
GRACE_SECONDS = 600
# Schemas copied whole (every table and view, views materialised); the register is copied as meta.deliveries.
COPIED_SCHEMAS = ("marts",)
REGISTER_SOURCE = "raw.cbs_deliveries"
REGISTER_COPY = "raw.cbs_deliveries"  # same name as in the warehouse: analysts' queries and export.py work unchanged
# Further relations readers use, copied under the same names when the warehouse has them: the load audits.
# (What flows to the marts is the mart dim_delivery, copied with the marts.)
READER_RELATIONS = ("raw.cbs_delivery_audits",)


@dataclass(frozen=True)
class Snapshot:
    """One complete published snapshot."""

    id: str
    folder: Path
    database: Path

    @property
    def semantic_manifest(self) -> Path:
        return self.folder / "semantic_manifest.json"

    @property
    def dbt_manifest(self) -> Path:
        return self.folder / "manifest.json"

    def info(self) -> dict:
        return json.loads((self.folder / COMPLETE_MARKER).read_text(encoding="utf-8"))


def snapshots_root(warehouse: Path) -> Path:
    return warehouse.parent / "snapshots"


def stable_path(warehouse: Path) -> Path:
    """The path analysts open with DuckDB (read-only); always the current snapshot."""
    return warehouse.parent / "current.duckdb"


def publish_snapshot(warehouse: Path, target_dir: Path | None = None) -> str:
    """Copies marts, the register and the build's manifests into a new snapshot and makes it current; returns its id."""
    target_dir = target_dir or PROJECT_ROOT / "target"
    semantic = target_dir / "semantic_manifest.json"
    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; nothing to publish")
    if not semantic.exists():
        raise UserError(f"no semantic manifest at {semantic}; run 'anpr build' first")
    root = snapshots_root(warehouse)
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = root / f".tmp-{stamp}-{os.getpid()}"
    staging.mkdir()
    try:
        database = staging / f"{warehouse.stem}.duckdb"
        tables = _copy_tables(warehouse, database)
        shutil.copy(semantic, staging / "semantic_manifest.json")
        if (target_dir / "manifest.json").exists():
            shutil.copy(target_dir / "manifest.json", staging / "manifest.json")
        manifests = semantic.read_bytes() + (
            (target_dir / "manifest.json").read_bytes() if (target_dir / "manifest.json").exists() else b""
        )
        digest = hashlib.sha256(json.dumps(tables, sort_keys=True).encode() + manifests).hexdigest()[:10]
        snapshot_id = f"{stamp[:15]}Z-{digest}"
        marker = {
            "id": snapshot_id,
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "warehouse": str(warehouse),
            "tables": tables,
        }
        (staging / COMPLETE_MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        final = root / snapshot_id
        if final.exists():  # same content within the same second: the existing snapshot is identical
            shutil.rmtree(staging)
        else:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_pointer(warehouse, final)
    remove_old_snapshots(warehouse)
    return snapshot_id


def _copy_tables(warehouse: Path, database: Path) -> dict[str, list]:
    """CTAS of every reader table into a new file; returns table -> [rows, content hash] for the snapshot id.

    The warehouse is opened like dbt opens it (read-write, same process instance), so
    publishing right after an in-process `dbt build` does not clash with dbt's handle.
    """
    con = apply_settings(duckdb.connect(str(warehouse)))
    try:
        con.execute("set enable_progress_bar = false")  # `anpr build` prints one line about the snapshot, not bars
        con.execute(f"attach '{database}' as snap")
        relations = con.execute(
            f"""select schema_name, table_name from duckdb_tables() where database_name = current_database()
                  and schema_name in ({", ".join("'" + s + "'" for s in COPIED_SCHEMAS)})
                union all
                select schema_name, view_name from duckdb_views() where database_name = current_database()
                  and schema_name in ({", ".join("'" + s + "'" for s in COPIED_SCHEMAS)}) and not internal
                order by 1, 2"""
        ).fetchall()
        copies = [(f'"{schema}"."{name}"', f'snap."{schema}"."{name}"') for schema, name in relations]
        copies.append((REGISTER_SOURCE, f"snap.{REGISTER_COPY}"))
        present = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database() union all "
                "select schema_name, view_name from duckdb_views() where database_name = current_database()"
            ).fetchall()
        }
        extra = [relation for relation in READER_RELATIONS if relation in present]
        copies += [(relation, f"snap.{relation}") for relation in extra]
        for schema in {*COPIED_SCHEMAS, REGISTER_COPY.split(".")[0], *(relation.split(".")[0] for relation in extra)}:
            con.execute(f'create schema if not exists snap."{schema}"')
        tables = {}
        for source, copy in copies:
            con.execute(f"create table {copy} as select * from {source}")
            # row counts everywhere; a content hash of the register only (small): marts follow from it and the manifests
            content = "select count(*), coalesce(sum(hash(t)), 0)" if source == REGISTER_SOURCE else "select count(*), 0"
            count, digest = con.execute(f"{content} from {copy} as t").fetchone()
            tables[copy.removeprefix("snap.").replace('"', "")] = [count, str(digest)]
        con.execute("detach snap")
    finally:
        con.close()
    return tables


def _switch_pointer(warehouse: Path, final: Path) -> None:
    root = final.parent
    tmp = root / f".{POINTER}.tmp-{os.getpid()}"
    tmp.write_text(final.name + "\n", encoding="utf-8")
    os.replace(tmp, root / POINTER)
    link = stable_path(warehouse)
    tmp_link = link.parent / f".{link.name}.tmp-{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(Path("snapshots") / final.name / f"{warehouse.stem}.duckdb")
    os.replace(tmp_link, link)


def list_snapshots(warehouse: Path) -> list[Snapshot]:
    """Complete snapshots, oldest first (ids sort by time)."""
    root = snapshots_root(warehouse)
    if not root.is_dir():
        return []
    return [
        Snapshot(p.name, p, p / f"{warehouse.stem}.duckdb")
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(".") and (p / COMPLETE_MARKER).exists()
    ]


def current_snapshot(warehouse: Path) -> Snapshot:
    """The snapshot CURRENT names; if it is missing or incomplete, the newest complete one."""
    root = snapshots_root(warehouse)
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    folder = root / name
    if name and (folder / COMPLETE_MARKER).exists():
        return Snapshot(name, folder, folder / f"{warehouse.stem}.duckdb")
    snapshots = list_snapshots(warehouse)
    if not snapshots:
        raise UserError(f"no published snapshot next to {warehouse}; run 'anpr build' (it publishes one)")
    return snapshots[-1]


def pointer_stamp(warehouse: Path) -> tuple[int, int] | None:
    """A cheap change detector for the pointer (one stat): (mtime_ns, inode)."""
    try:
        st = (snapshots_root(warehouse) / POINTER).stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


def remove_old_snapshots(warehouse: Path, keep: int = KEEP_NEWEST, grace_seconds: float = GRACE_SECONDS) -> list[str]:
    """Removes snapshots beyond the newest `keep` that are older than the grace period; never the current one."""
    root = snapshots_root(warehouse)
    now = time.time()
    try:
        current = (root / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        current = ""
    removed = []
    for snapshot in list_snapshots(warehouse)[:-keep] if keep else list_snapshots(warehouse):
        if snapshot.id != current and now - (snapshot.folder / COMPLETE_MARKER).stat().st_mtime > grace_seconds:
            shutil.rmtree(snapshot.folder, ignore_errors=True)
            removed.append(snapshot.id)
    for leftover in root.glob(".tmp-*"):  # a publish that died half-way
        if now - leftover.stat().st_mtime > grace_seconds:
            shutil.rmtree(leftover, ignore_errors=True)
    return removed
