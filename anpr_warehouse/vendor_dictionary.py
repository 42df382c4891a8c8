"""The vendor-facing data dictionary, generated from the dbt docs and the metric definitions.

Written into every package so a vendor never needs access to this repository
to know what a column or a metric means.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .metrics import MetricLayer
from .paths import PROJECT_ROOT


@lru_cache(maxsize=1)
def dbt_nodes() -> dict:
    return json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())["nodes"]


def model_columns(model: str) -> list[dict]:
    node = dbt_nodes()[f"model.anpr_warehouse.{model}"]
    return [{"name": c["name"], "type": c.get("data_type"), "description": c["description"]} for c in node["columns"].values()]


def model_description(model: str) -> str:
    return dbt_nodes()[f"model.anpr_warehouse.{model}"]["description"]


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def write_dictionary(
    path: Path, layer: MetricLayer, models: list[str], cell_statuses: dict[str, str], csv_note: str | None = None
) -> None:
    """`csv_note` (how CSV cells are kept safe for spreadsheets) is written only for packages that hold CSV files."""
    lines = [
        "# Data dictionary",
        "",
        "Enriched ANPR statistics for city logistics, from CBS deliveries. Generated from the warehouse's dbt documentation",
        "and its semantic layer; the same definitions serve the municipality's own dashboard.",
        "",
        "## Cell status",
        "",
        "| status | meaning |",
        "|---|---|",
        *[f"| {k} | {_cell(v)} |" for k, v in cell_statuses.items()],
        "",
        "Metric answers carry `confidential_cells` and `complete`: `complete = false` with a value means a lower bound;",
        "a null value with `complete = false` means unknown. Unique vehicles exist only per zone and month.",
        "",
        *(["## CSV files and spreadsheets", "", csv_note, ""] if csv_note else []),
        "## Tables (marts/)",
        "",
    ]
    for model in models:
        lines += [f"### {model}", "", _cell(model_description(model)), "", "| column | type | description |", "|---|---|---|"]
        lines += [f"| {c['name']} | {c['type']} | {_cell(c['description'])} |" for c in model_columns(model)]
        lines.append("")
    lines += ["## Metrics (metrics/)", "", "| metric | label | description |", "|---|---|---|"]
    for metric in sorted(layer.public_metrics(), key=lambda m: m["name"]):
        lines.append(f"| {metric['name']} | {_cell(metric.get('label'))} | {_cell(metric.get('description'))} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
