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

from . import step_times
from .errors import UserError
from .paths import PROJECT_ROOT
from .snapshot_tables import Previous, partitioned_marts, project_fingerprint, write_tables

COMPLETE_MARKER = "COMPLETE"
POINTER = "CURRENT"
PLAN_CACHE = "plan-cache"  # beside the snapshots: stored query plans per semantic manifest (plans.PlanStore)
KEEP_NEWEST = 3
GRACE_SECONDS = 600
# What a snapshot carries (marts, the register, the load audits) and how it is written: snapshot_tables.py.


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


def manifest_sha256(semantic_manifest: str) -> str:
    """The name stored query plans are filed under (plans.PlanStore): the hash of a semantic manifest's text."""
    return hashlib.sha256(semantic_manifest.encode()).hexdigest()


def snapshots_root(warehouse: Path) -> Path:
    return warehouse.parent / "snapshots"


def stable_path(warehouse: Path) -> Path:
    """The path analysts open with DuckDB (read-only); always the current snapshot."""
    return warehouse.parent / "current.duckdb"


def publish_snapshot(warehouse: Path, target_dir: Path | None = None, reuse: bool = True) -> str:
    """Publishes marts, the register and the build's manifests as a new snapshot and makes it current; returns its id.

    With `reuse` (an incremental build) the new snapshot starts from the current one and only the
    changed delivery partitions are replaced (snapshot_tables.py); a full refresh passes False.
    """
    with step_times.timed("snapshot_publish_s"):
        return _publish(warehouse, target_dir or PROJECT_ROOT / "target", reuse)


def _publish(warehouse: Path, target_dir: Path, reuse: bool) -> str:
    semantic = target_dir / "semantic_manifest.json"
    dbt_manifest = target_dir / "manifest.json"
    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; nothing to publish")
    if not semantic.exists():
        raise UserError(f"no semantic manifest at {semantic}; run 'anpr build' first")
    root = snapshots_root(warehouse)
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = root / f".tmp-{stamp}-{os.getpid()}"
    staging.mkdir()
    project = project_fingerprint(dbt_manifest)
    try:
        database = staging / f"{warehouse.stem}.duckdb"
        previous = _reusable(warehouse, project, dbt_manifest) if reuse else None
        with step_times.timed("snapshot_tables_s"):
            written = write_tables(warehouse, database, previous)
        shutil.copy(semantic, staging / "semantic_manifest.json")
        if dbt_manifest.exists():
            shutil.copy(dbt_manifest, staging / "manifest.json")
        manifests = semantic.read_bytes() + (dbt_manifest.read_bytes() if dbt_manifest.exists() else b"")
        digest = hashlib.sha256(json.dumps(written.tables, sort_keys=True).encode() + manifests).hexdigest()[:10]
        snapshot_id = f"{stamp[:15]}Z-{digest}"
        marker = {
            "id": snapshot_id,
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "warehouse": str(warehouse),
            "tables": written.tables,
            "project": project,
            "reused_from": written.reused_from,
            "partitions_replaced": written.partitions_replaced,
            "compact_bytes": written.compact_bytes,
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
    with step_times.timed("snapshot_switch_s"):
        _switch_pointer(warehouse, final)
    with step_times.timed("snapshot_remove_old_s"):
        remove_old_snapshots(warehouse)
    step_times.emit_if_asked()
    return snapshot_id


def _reusable(warehouse: Path, project: str, dbt_manifest: Path) -> Previous | None:
    """The current snapshot, if a new one may start from it: same warehouse path, same project, written by this code."""
    try:
        snapshot = current_snapshot(warehouse)
        info = snapshot.info()
    except (UserError, OSError, ValueError):
        return None
    if not project or info.get("project") != project or info.get("warehouse") != str(warehouse):
        return None
    if not info.get("compact_bytes") or not snapshot.database.exists():
        return None
    return Previous(snapshot.database, int(info["compact_bytes"]), *partitioned_marts(dbt_manifest))


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
    _remove_unused_plans(warehouse, now - grace_seconds)
    return removed


def _remove_unused_plans(warehouse: Path, older_than: float) -> None:
    """Removes stored plans of definitions no remaining snapshot has (a folder per `manifest_sha256`),
    after the same grace period, so the cache does not grow with every definitions change."""
    folder = snapshots_root(warehouse) / PLAN_CACHE
    if not folder.is_dir():
        return
    live = {manifest_sha256(s.semantic_manifest.read_text()) for s in list_snapshots(warehouse) if s.semantic_manifest.exists()}
    for plans in folder.iterdir():
        if plans.is_dir() and plans.name not in live and plans.stat().st_mtime < older_than:
            shutil.rmtree(plans, ignore_errors=True)
