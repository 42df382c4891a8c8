"""Argument types and the warehouse path the sub-commands share (one definition for cli.py and every handler)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from .errors import UserError
from .paths import default_warehouse


def month_arg(text: str) -> tuple[int, int]:
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month like 2025-03") from None
    return parsed.year, parsed.month


def months_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months, (y, m) = [], first
    while (y, m) <= last:
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def output_folder(path: Path, option: str = "--out") -> Path:
    """The folder a command writes into, absolute. Refused up front when a file stands where the folder or one of its
    parents should be: creating it would fail only after the work was done, as a traceback."""
    folder = path.resolve()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"{option} {path}: {existing} is a file, not a folder")
    return folder


def warehouse_path(args: argparse.Namespace) -> Path:
    """`--warehouse`, else $ANPR_WAREHOUSE, else warehouse/anpr.duckdb; absolute."""
    return (args.warehouse or default_warehouse()).resolve()


def free_warehouse(args: argparse.Namespace) -> Path:
    """The warehouse path, once no other process holds it (MetricFlow opens it read-write); else exit 3."""
    from .warehouse import wait_until_free

    warehouse = warehouse_path(args)
    wait_until_free(warehouse, args.wait)
    return warehouse
