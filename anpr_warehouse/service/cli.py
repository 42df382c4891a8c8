"""Sub-commands of the vendor API: snapshots, serve, keys, access-log.

Registered from commands.register() with one call, so the shared CLI files stay
untouched; heavy imports (FastAPI, uvicorn, MetricFlow) happen when a command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Callable

from ..paths import default_warehouse


def _warehouse(args: argparse.Namespace) -> Path:
    return (args.warehouse or default_warehouse()).resolve()


def cmd_snapshots(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from ..snapshots import current_snapshot, list_snapshots, stable_path

    warehouse = _warehouse(args)
    snapshots = list_snapshots(warehouse)
    if not snapshots:
        print(f"no snapshots next to {warehouse}; 'anpr build' publishes one")
        return 0
    current = current_snapshot(warehouse).id
    rows = []
    for snapshot in snapshots:
        info = snapshot.info()
        rows.append((snapshot.id, "*" if snapshot.id == current else "", info.get("published_at", ""),
                     sum(t[0] for t in info.get("tables", {}).values())))
    print(tabulate(rows, headers=("snapshot", "current", "published_at (UTC)", "rows")))
    print(f"analysts: duckdb.connect('{stable_path(warehouse)}', read_only=True)")
    return 0


def register(sub: argparse._SubParsersAction, warehouse_option: Callable[[argparse.ArgumentParser], None]) -> None:
    snapshots = sub.add_parser("snapshots", help="published read-only snapshots of the warehouse (what readers and the API use)")
    warehouse_option(snapshots)
    snapshots.set_defaults(func=cmd_snapshots)
