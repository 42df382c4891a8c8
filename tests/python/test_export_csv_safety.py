"""Exports safe for spreadsheets: a text cell that would run as a formula gets a leading apostrophe in CSV only.

A real delivery whose camera sites are titled like formulas goes through load, dbt build and
export; the CSV cells are escaped, Parquet and GeoJSON keep the value as CBS sent it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from anpr_warehouse.export import _spreadsheet_safe_result
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.metrics import MetricResult, MetricValue

TITLES = {  # location -> title as CBS sends it
    "GM0344_L001": '=HYPERLINK("http://x","y")',
    "GM0344_L002": "+1",
    "GM0344_L003": "@SUM(A1)",
    "GM0344_L004": "-2",
}


def _anpr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=1200)


def _retitle(delivery: Path, titles: dict[str, str]) -> None:
    """Sets the Title of the given locations and signs the changed file in the manifest, as CBS would."""
    path = delivery / "Locations.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        row[1] = titles.get(row[0], row[1])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    manifest = json.loads((delivery / "delivery.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["name"] == "Locations.csv")
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (delivery / "delivery.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csv-safety")
    delivery = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=5, locations=4), out / "deliveries")
    _retitle(delivery, TITLES)
    warehouse = out / "warehouse.duckdb"
    loaded = _anpr("load", str(delivery), "--warehouse", str(warehouse))
    assert loaded.returncode == 0, loaded.stderr  # such titles are text, not a reason to refuse
    built = _anpr("build", "--warehouse", str(warehouse))
    assert built.returncode == 0, built.stdout[-3000:]
    entitlements = out / "vendors.yml"
    entitlements.write_text(
        "vendors:\n  sheets:\n    municipalities: [GM0344]\n    formats: [parquet, csv, geojson]\n", encoding="utf-8"
    )
    exported = _anpr(
        "export",
        "--vendor",
        "sheets",
        "--out",
        str(out / "exports"),
        "--warehouse",
        str(warehouse),
        "--entitlements",
        str(entitlements),
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    return out / "exports" / "sheets" / "GM0344" / "2025-03"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_csv_escapes_formula_titles_and_other_formats_keep_them(package):
    names = {row["location_code"]: row["location_name"] for row in _csv_rows(package / "marts" / "dim_location.csv")}
    assert names == {code: "'" + title for code, title in TITLES.items()}

    parquet = pq.read_table(package / "marts" / "dim_location.parquet").to_pylist()
    assert {row["location_code"]: row["location_name"] for row in parquet} == TITLES

    features = json.loads((package / "locations.geojson").read_text(encoding="utf-8"))["features"]
    assert {f["id"]: f["properties"]["name"] for f in features} == TITLES


@pytest.mark.slow
def test_csv_number_columns_are_never_prefixed(package):
    """Only text cells get the apostrophe: a CSV cell of a numeric Parquet column reads back as the same number."""
    checked = 0
    for csv_path in sorted((package / "marts").glob("*.csv")):
        table = pq.read_table(csv_path.with_suffix(".parquet"))
        numeric = [f.name for f in table.schema if str(f.type).startswith(("int", "uint", "double", "float", "decimal"))]
        for row, raw in zip(_csv_rows(csv_path), table.to_pylist()):
            for column in numeric:
                if raw[column] is not None:
                    assert not row[column].startswith("'") and float(row[column]) == pytest.approx(float(raw[column]))
                    checked += 1
    assert checked > 1000


@pytest.mark.slow
def test_package_says_how_csv_cells_are_escaped(package):
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    safety = manifest["csv_spreadsheet_safety"]
    assert safety["text_cells_starting_with"] == ["=", "+", "-", "@", "\t", "\r"] and safety["are_prefixed_with"] == "'"
    dictionary = (package / "data_dictionary.md").read_text(encoding="utf-8")
    assert "## CSV files and spreadsheets" in dictionary and "leading apostrophe" in dictionary


def test_metric_answers_for_csv_escape_text_labels_only():
    result = MetricResult(group_by=["location", "metric_time__month"], metrics=["passages"])
    result.rows.append(
        {"location": "=cmd|' /C calc'!A0", "metric_time__month": "2025-03-01", "passages": MetricValue(-5, 0, True)}
    )
    result.rows.append({"location": "GM0344_L001", "metric_time__month": "2025-03-01", "passages": MetricValue(10, 1, False)})
    rows = list(csv.DictReader(_spreadsheet_safe_result(result).render("csv").splitlines()))
    assert [r["location"] for r in rows] == ["'=cmd|' /C calc'!A0", "GM0344_L001"]
    assert [r["passages"] for r in rows] == ["-5", "10"]  # a number is never text, whatever its sign
    assert result.rows[0]["location"] == "=cmd|' /C calc'!A0"  # the JSON answers use the original, unchanged
