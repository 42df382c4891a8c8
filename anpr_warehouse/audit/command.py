"""`anpr audit PATH... | --warehouse PATH DELIVERY_ID...`: the interval audit from the command line.

Exit code 0 when no cell is at risk, 2 when any is (1 for an unreadable input).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError


def cmd_audit(args: argparse.Namespace) -> int:
    from .cells import cells_from_path, cells_from_warehouse
    from .report import render, summary_lines
    from .run import audit_cells

    jobs = args.jobs or os.cpu_count() or 1
    results = []
    if args.warehouse is not None:
        from ..warehouse import connect_read_only

        con = connect_read_only(args.warehouse.resolve())
        try:
            deliveries = [cells_from_warehouse(con, ident) for ident in args.paths]
        finally:
            con.close()
    else:
        deliveries = []
        for path in args.paths:
            if not Path(path).exists():
                raise UserError(f"{path}: no such delivery folder or zip (a delivery id needs --warehouse)")
            deliveries.append(cells_from_path(Path(path)))
    for delivery in deliveries:
        results.append(audit_cells(delivery, args.min_cell_rule, jobs))
        if args.suggest_suppression and results[-1].at_risk:
            _suggest(delivery, args.min_cell_rule)
    text = render(results, args.format)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        sys.stdout.write("".join(line + "\n" for result in results for line in summary_lines(result)))
    else:
        sys.stdout.write(text)
    return 2 if any(result.at_risk for result in results) else 0


def _suggest(delivery, min_cell_rule: bool) -> None:
    """Which published cells CBS would have to hide as well (the fewest; to stderr, the report stays as it is)."""
    from .protect import protect_minimal

    protection = protect_minimal(delivery, min_cell_rule, jobs=os.cpu_count() or 1)
    left = len(protection.audit.at_risk)
    print(
        f"{delivery.delivery_id}: hiding {len(protection.suppressed)} more published cells leaves {left} at risk "
        f"(at most {protection.rounds} rounds per group):",
        file=sys.stderr,
    )
    for cell in protection.suppressed:
        print(f"  hide {cell.where()} {cell.measure} {cell.label()} = {cell.value}", file=sys.stderr)


def register(sub: argparse._SubParsersAction, warehouse_option: Callable[[argparse.ArgumentParser], None]) -> None:
    audit = sub.add_parser(
        "audit", help="interval audit of deliveries: which confidential cells the published numbers pin down (exit 2 if any)"
    )
    audit.add_argument("paths", nargs="+", help="delivery folders or .zip files; with --warehouse: delivery ids already loaded")
    audit.add_argument("--format", choices=("text", "csv", "json"), default="text")
    audit.add_argument("--out", type=Path, help="write the report here (text, CSV or JSON); the summary still goes to stdout")
    audit.add_argument(
        "--min-cell-rule",
        action="store_true",
        help="also use what SDC implies: a published non-zero cell counts >= min_cell, a published 0 is 0, passages >= vehicles",
    )
    audit.add_argument(
        "--suggest-suppression",
        action="store_true",
        help="also list the fewest published cells to hide so that no cell is at risk (a MIP per group; to stderr)",
    )
    audit.add_argument("--jobs", type=int, default=None, help="processes for the LPs (default: one per CPU)")
    warehouse_option(audit)
    audit.set_defaults(func=cmd_audit)
