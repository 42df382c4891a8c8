"""The vendor-facing data dictionary, generated from the dbt docs and the metric definitions.

Written into every package so a vendor never needs access to this repository
to know what a column or a metric means. The docs come from the dbt manifest of the
snapshot the package is cut from (`MetricLayer.dbt_manifest`), so a package describes
the tables it holds even when the project has since been rebuilt with other docs.
"""

from __future__ import annotations

from pathlib import Path

from .dbt_manifest import PACKAGE
from .metrics import MetricLayer


def model_columns(model: str, manifest: dict) -> list[dict]:
    """A model's documented columns in `manifest` (dbt's manifest.json as a dict)."""
    node = manifest["nodes"][f"model.{PACKAGE}.{model}"]
    return [{"name": c["name"], "type": c.get("data_type"), "description": c["description"]} for c in node["columns"].values()]


def model_description(model: str, manifest: dict) -> str:
    return manifest["nodes"][f"model.{PACKAGE}.{model}"]["description"]


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
    manifest = layer.dbt_manifest
    for model in models:
        lines += [
            f"### {model}",
            "",
            _cell(model_description(model, manifest)),
            "",
            "| column | type | description |",
            "|---|---|---|",
        ]
        lines += [f"| {c['name']} | {c['type']} | {_cell(c['description'])} |" for c in model_columns(model, manifest)]
        lines.append("")
    lines += ["## Metrics (metrics/)", "", "| metric | label | description |", "|---|---|---|"]
    for metric in sorted(layer.public_metrics(), key=lambda m: m["name"]):
        lines.append(f"| {metric['name']} | {_cell(metric.get('label'))} | {_cell(metric.get('description'))} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
