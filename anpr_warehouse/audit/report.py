"""The audit's answer for people (text) and for CBS (CSV, JSON): a summary and the at-risk cells."""

from __future__ import annotations

import csv
import io
import json

from .run import AtRiskCell, AuditResult

TEXT_ROWS = 40  # at-risk cells printed in text; CSV and JSON list them all
CSV_HEADER = (
    "delivery_id",
    "file",
    "line",
    "table",
    "measure",
    "cell",
    "lower",
    "upper",
    "width",
    "exact",
    "constraints",
    "pinned_by",
)


def summary_lines(result: AuditResult) -> list[str]:
    rule = "with" if result.min_cell_rule else "without"
    lines = [
        f"{result.delivery_id}: {result.cells:,} cells, {result.confidential:,} confidential, "
        f"{len(result.at_risk):,} at risk (interval narrower than min_cell {result.min_cell}), {result.exact:,} exact",
        f"  rounding base {result.rounding_base}, {rule} the min-cell rule; {result.components:,} linked groups, "
        f"{result.lps:,} LPs, {result.seconds:.1f} s",
    ]
    return lines + [f"  note: {note}" for note in result.notes]


def _row(result: AuditResult, risk: AtRiskCell) -> tuple:
    cell = risk.cell
    return (
        result.delivery_id,
        cell.where().rsplit(":", 1)[0],
        cell.line,
        cell.table,
        cell.measure,
        cell.label(),
        risk.lower,
        risk.upper,
        risk.upper - risk.lower,
        risk.exact,
        " | ".join(risk.constraints),
        " | ".join(risk.pinned_by),
    )


def render(results: list[AuditResult], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for result in results:
            writer.writerows(_row(result, risk) for risk in result.at_risk)
        return out.getvalue()
    if fmt == "json":
        return json.dumps([_json(result) for result in results], indent=2) + "\n"
    lines = []
    for result in results:
        lines += summary_lines(result)
        for risk in result.at_risk[:TEXT_ROWS]:
            cell = risk.cell
            value = f"exactly {risk.lower}" if risk.exact else f"{risk.lower}..{risk.upper}"
            lines.append(f"  AT RISK {cell.where()} {cell.measure} {cell.label()}: {value}")
            lines += [f"      by {constraint}" for constraint in risk.constraints[:4]]
        if len(result.at_risk) > TEXT_ROWS:
            lines.append(f"  ... and {len(result.at_risk) - TEXT_ROWS:,} more (--format csv or json lists them all)")
    return "\n".join(lines) + "\n"


def _json(result: AuditResult) -> dict:
    return {
        "delivery_id": result.delivery_id,
        "min_cell": result.min_cell,
        "rounding_base": result.rounding_base,
        "min_cell_rule": result.min_cell_rule,
        "cells": result.cells,
        "cells_confidential": result.confidential,
        "cells_at_risk": len(result.at_risk),
        "cells_exact": result.exact,
        "seconds": round(result.seconds, 2),
        "notes": result.notes,
        "at_risk": [dict(zip(CSV_HEADER[1:], _row(result, risk)[1:])) for risk in result.at_risk],
    }
