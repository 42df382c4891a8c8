"""`anpr audit PATH... | --warehouse PATH DELIVERY_ID...`: the interval audit from the command line.

Exit code 0 when no cell is at risk, 2 when any is (1 for an unreadable input). The command and its
options are declared in cli.py; this is what it does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ExitCode, UserError


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
    return ExitCode.REFUSED if any(result.at_risk for result in results) else ExitCode.OK


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
