"""`anpr export`: per municipality and month, a complete, self-describing vendor package.

A package holds the marts for that municipality and month (Parquet and/or CSV),
the metric-layer answers to the standard questions, the camera sites as GeoJSON
with their figures, a data dictionary and a manifest with checksums and schema.
It is written to a temporary folder and renamed into place, so a package is
either complete or absent; the same warehouse always gives the same bytes.

A package whose inputs did not change is not rewritten: its manifest carries the
fingerprint of what it was made from (fingerprint.py: code, definitions, vendor and
formats, source deliveries and their audits, the rows of every mart in its scope),
and an intact package with the same fingerprint is kept byte for byte, and the
command says so. A monthly run then writes only the new and corrected months.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .audit.register import delivery_audits
from .dbt_manifest import vendor_package_tables
from .differencing import withhold
from .entitlements import VENDORS_FILE, Vendor, entitled_municipalities
from .errors import UserError
from .fingerprint import MartHashes, Scope, code_version, definitions_version, months_back, sha256_json, shift_month
from .metrics import MetricLayer, MetricResult
from .question_batch import TOTAL
from .question_batch import answers as ask_all
from .reading import connect, reading_layer
from .standard_questions import Question
from .vendor_dictionary import model_columns, write_dictionary

PACKAGE_CONTRACT = "anpr-vendor-package/1"
CELL_STATUSES = {
    "published": "CBS published the value (rounded to the rounding base).",
    "confidential": "Suppressed by CBS disclosure control: unknown, not zero. Never fill it in.",
    "impossible": "The combination cannot occur.",
    "unknown": "CBS does not know the value.",
}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); in CSV files a
# text cell that starts with one gets a leading apostrophe. Parquet, JSON and GeoJSON keep the value.
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEET_ESCAPE = "'"
_TRIGGER_PATTERN = r"^([=+\-@\t\r])"  # SPREADSHEET_TRIGGERS as an RE2 pattern for pyarrow
CSV_NOTE = (
    "In CSV files, a text cell that starts with =, +, -, @, a tab or a carriage return is written with a leading "
    "apostrophe (') so no spreadsheet runs it as a formula; remove that one apostrophe to get the value. Number "
    "columns are never changed. Parquet, JSON and GeoJSON files hold every value as it is."
)


@dataclass(frozen=True)
class PackageContents:
    """What a package holds: the dbt exposure `vendor_package` (models/exposures.yml) and the saved queries.

    Read from the dbt manifest of the snapshot the package is cut from (`MetricLayer.dbt_manifest`), when a
    package is written, never at import: the project's target/manifest.json may describe another build.
    """

    facts: tuple[str, ...]
    by_municipality: tuple[str, ...]
    code_lists: tuple[str, ...]
    questions: tuple[Question, ...]

    @classmethod
    def of(cls, layer: MetricLayer) -> PackageContents:
        return cls(*vendor_package_tables(layer.dbt_manifest), layer.questions)

    @property
    def tables(self) -> tuple[str, ...]:
        return self.facts + self.by_municipality + self.code_lists


@dataclass(frozen=True)
class PackageRequest:
    vendor: Vendor
    municipality: str
    month_start: str  # YYYY-MM-01


def export_vendor(
    warehouse: Path,
    vendor_name: str,
    out: Path,
    municipalities: list[str] | None = None,
    months: list[str] | None = None,
    progress: bool = True,
    entitlements: Path | None = None,
) -> list[Path]:
    """Exports every (entitled municipality x available month); returns the package folders."""
    vendor, wanted = entitled_municipalities(vendor_name, municipalities, entitlements or VENDORS_FILE)
    layer = reading_layer(warehouse)
    con = connect(layer)  # the same DuckDB instance (and configuration) the metric layer reads
    try:
        jobs = []
        for municipality in wanted:
            available = [
                r[0].isoformat()
                for r in con.execute(
                    "select distinct month_start from marts.fct_passages_hourly where municipality_code = ? order by 1",
                    [municipality],
                ).fetchall()
            ]
            chosen = [m for m in available if not months or m[:7] in months]
            if months and not chosen:
                raise UserError(
                    f"{municipality} has no data for {', '.join(months)} (available: {', '.join(a[:7] for a in available) or 'none'})"
                )
            jobs += [PackageRequest(vendor, municipality, month) for month in chosen]
        from tqdm import tqdm

        fingerprints = package_fingerprints(con, layer, jobs)
        packages = []
        for job in tqdm(
            jobs, desc=f"export {vendor.name}", unit="package", disable=not progress or len(jobs) < 2, file=sys.stderr
        ):
            final = package_folder(out, job)
            state = kept_state(final, fingerprints[job])
            if state != "unchanged":
                write_package(con, layer, job, out, fingerprints[job])
            verb = "unchanged, kept" if state == "unchanged" else f"written ({state})"
            tqdm.write(f"{job.municipality} {job.month_start[:7]}: {verb} (sha256 {fingerprints[job][:16]})", file=sys.stderr)
            packages.append(final)
        return packages
    finally:
        con.close()


def package_folder(out: Path, job: PackageRequest) -> Path:
    return out / job.vendor.name / job.municipality / job.month_start[:7]


def package_fingerprints(con: duckdb.DuckDBPyConnection, layer: MetricLayer, jobs: list[PackageRequest]) -> dict:
    """PackageRequest -> SHA-256 of everything its package is made from; one scan per marts table for all of them.

    The rows in scope are the municipality's month and the months offset metrics look back to (the change
    against the previous month), so a correction of February also renews March's package.
    """
    if not jobs:
        return {}
    back = months_back(layer.semantic_manifest_doc)
    first = None if back is None else shift_month(min(j.month_start for j in jobs), -back)
    hashes = MartHashes(con, sorted({j.municipality for j in jobs}), max(j.month_start for j in jobs), first)
    common = {
        "contract": PACKAGE_CONTRACT,
        "code": code_version(),
        "definitions": definitions_version(layer.semantic_manifest_doc, layer.dbt_manifest),
    }
    return {
        job: sha256_json(
            {
                **common,
                "vendor": {"name": job.vendor.name, "formats": sorted(job.vendor.formats)},
                "manifest": _manifest_head(con, job),
                "data": hashes.of(
                    Scope((job.municipality,), None if back is None else shift_month(job.month_start, -back), job.month_start)
                ),
            }
        )
        for job in jobs
    }


def kept_state(final: Path, fingerprint: str) -> str:
    """'unchanged' when the package there was made from these inputs and every file still has its manifest's checksum.

    Otherwise why it is written: 'new', 'inputs changed', or 'damaged' (a file missing, added or altered).
    """
    try:
        manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "damaged" if final.exists() else "new"
    if manifest.get("inputs_sha256") != fingerprint:
        return "inputs changed"
    listed = {entry["name"]: entry["sha256"] for entry in manifest.get("files", [])}
    present = {p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file()} - {"manifest.json"}
    if present != set(listed):
        return "damaged"
    if any(hashlib.sha256((final / name).read_bytes()).hexdigest() != digest for name, digest in listed.items()):
        return "damaged"
    return "unchanged"


def write_package(
    con: duckdb.DuckDBPyConnection, layer: MetricLayer, job: PackageRequest, out: Path, fingerprint: str | None = None
) -> Path:
    """Writes the package (always; `export_vendor` decides what to skip). `fingerprint`: its inputs, if known."""
    fingerprint = fingerprint or package_fingerprints(con, layer, [job])[job]
    final = package_folder(out, job)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        files = _write_contents(con, layer, job, staging)
        manifest = _manifest(con, job, staging, files, fingerprint, layer.dbt_manifest)
        (staging / "manifest.json").write_text(manifest, encoding="utf-8")
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _write_contents(con, layer: MetricLayer, job: PackageRequest, folder: Path) -> dict[str, dict]:
    """Writes marts, metric answers and GeoJSON; returns file name -> {rows, source} for the manifest."""
    files: dict[str, dict] = {}
    formats = job.vendor.formats
    contents = PackageContents.of(layer)
    (folder / "marts").mkdir()
    for table in contents.tables:
        data = _mart_rows(con, table, job, table in contents.facts)
        for fmt in ("parquet", "csv"):
            if fmt in formats:
                name = f"marts/{table}.{fmt}"
                _write_table(data, folder / name, fmt)
                files[name] = {"rows": data.num_rows, "model": table}
    (folder / "metrics").mkdir()
    withheld = 0
    answers: dict[str, MetricResult] = {}
    asked = ask_all(layer, contents.questions, job.municipality, job.month_start, totals=True)  # one query per shape
    for question in contents.questions:
        result = answers[question.name] = asked[question.name]
        if question.part_of:
            total = asked[TOTAL + question.name]
            for metric in question.metrics:
                withheld += withhold(result, total, metric, question.part_of, question.part_dimension)
        name = f"metrics/{question.name}.json"
        (folder / name).write_text(_question_json(question, result), encoding="utf-8")
        files[name] = {"rows": len(result.rows), "question": question.name}
        if "csv" in formats:
            name = f"metrics/{question.name}.csv"
            (folder / name).write_text(_spreadsheet_safe_result(result).render("csv"), encoding="utf-8")
            files[name] = {"rows": len(result.rows), "question": question.name}
    files["_withheld"] = {"rows": withheld}
    if {"geojson", "csv"} & set(formats):
        features = _location_features(con, job, answers, contents.questions)  # one query, both files
    if "geojson" in formats:
        name = "locations.geojson"
        (folder / name).write_text(
            json.dumps({"type": "FeatureCollection", "features": features}, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        files[name] = {"rows": len(features)}
    if {"geojson", "csv"} & set(formats):
        locations = _locations_table(features)
        _write_table(locations, folder / LOCATIONS_CSV, "csv")
        files[LOCATIONS_CSV] = {"rows": locations.num_rows}
    write_dictionary(
        folder / "data_dictionary.md",
        layer,
        list(contents.tables),
        CELL_STATUSES,
        CSV_NOTE if "csv" in formats else None,
    )
    if LOCATIONS_CSV in files:
        with (folder / "data_dictionary.md").open("a", encoding="utf-8") as handle:
            handle.write(LOCATIONS_CSV_DICTIONARY)
    files["data_dictionary.md"] = {"rows": None}
    return files


def _mart_rows(con, table: str, job: PackageRequest, fact: bool) -> pa.Table:
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]
    where, params = [], []
    if "municipality_code" in columns:
        where.append("municipality_code = ?")
        params.append(job.municipality)
    if fact or "month_start" in columns:  # facts, and dim_delivery: the deliveries of the package's month
        where.append("month_start = ?")
        params.append(job.month_start)
    sql = f"select * from marts.{table}" + (f" where {' and '.join(where)}" if where else "") + f" order by {columns[0]}"
    return con.sql(sql, params=params).to_arrow_table()


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        # Snappy: ArcGIS's browser Parquet layer reads only gzip, Snappy or uncompressed files
        pq.write_table(table, path, compression="snappy", write_statistics=True)
    else:
        pacsv.write_csv(_spreadsheet_safe_table(table), path)


def spreadsheet_safe(value):
    """A text value a spreadsheet would run as a formula, with a leading apostrophe; anything else as it is."""
    if isinstance(value, str) and value.startswith(SPREADSHEET_TRIGGERS):
        return SPREADSHEET_ESCAPE + value
    return value


def _spreadsheet_safe_table(table: pa.Table) -> pa.Table:
    """The same table with `spreadsheet_safe` applied to every text column (numbers and dates untouched)."""
    columns = [
        pc.replace_substring_regex(column, pattern=_TRIGGER_PATTERN, replacement=SPREADSHEET_ESCAPE + r"\1")
        if _has_trigger(column)
        else column
        for column in table.columns
    ]
    return pa.table(columns, schema=table.schema)


def _has_trigger(column) -> bool:
    """A text column with a cell to escape; matching is about twice as fast as rewriting, and most columns are codes."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    return bool(pc.any(pc.match_substring_regex(column, pattern=_TRIGGER_PATTERN)).as_py())


def _spreadsheet_safe_result(result: MetricResult) -> MetricResult:
    """Metric answers for a CSV file: group-by labels made safe; metric values are numbers and stay."""
    rows = [{**row, **{g: spreadsheet_safe(row[g]) for g in result.group_by}} for row in result.rows]
    return MetricResult(group_by=result.group_by, metrics=result.metrics, rows=rows)


def _question_json(question, result: MetricResult) -> str:
    doc = {
        "question": question.name,
        "title_nl": question.title_nl,
        "metrics": list(question.metrics),
        "group_by": result.group_by,
        "note": "value null with complete=false: unknown (confidential CBS cells); complete=false with a value: a lower bound.",
        "rows": result.json_rows(),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _location_features(con, job: PackageRequest, answers: dict[str, MetricResult], questions: tuple[Question, ...]) -> list[dict]:
    """RFC 7946 points (WGS84, [longitude, latitude]) with the month's figures per camera site.

    The figures are the package's own answers to the location questions, not a second query.
    """
    figures: dict[str, dict] = {}
    for name in ("locations", "locations_zero_emission"):
        question = next(q for q in questions if q.name == name)
        for row in answers[name].rows:
            figures.setdefault(row["location"], {}).update({m: row[m].as_json() for m in question.metrics})
    rows = con.execute(
        """select location_code, location_name, zone_code, direction_code, is_zone_entry, latitude, longitude
           from marts.dim_location where municipality_code = ? order by location_code""",
        [job.municipality],
    ).fetchall()
    return [
        {
            "type": "Feature",
            "id": code,
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {
                "location_code": code,
                "name": name,
                "zone_code": zone,
                "direction": direction,
                "is_zone_entry": entry,
                "month": job.month_start[:7],
                **figures.get(code, {}),
            },
        }
        for code, name, zone, direction, entry, lat, lon in rows
    ]


LOCATIONS_CSV = "locations.csv"
LOCATIONS_CSV_DICTIONARY = """
## Camera sites for GIS (locations.csv)

The camera sites of `locations.geojson` as a flat table with `latitude` and `longitude` columns (WGS84 degrees),
for tools that add a point layer from a table (ArcGIS, QGIS, Excel). One row per site; per metric the value,
`<metric>_confidential_cells` and `<metric>_complete` (`false` with a value: a lower bound; empty value: unknown).

| column | description |
|---|---|
| location_code | CBS location code of the camera site |
| name | name of the site |
| zone_code | zone the site belongs to (empty if none) |
| direction | direction code of the camera |
| is_zone_entry | whether a passage here is an entry into the zone |
| month | month of the figures (YYYY-MM) |
| latitude | WGS84 latitude in degrees |
| longitude | WGS84 longitude in degrees |
"""


def _locations_table(features: list[dict]) -> pa.Table:
    """The GeoJSON sites flattened to one row per site with latitude/longitude columns (the same figures)."""
    rows = []
    for feature in features:
        props = dict(feature["properties"])
        lon, lat = feature["geometry"]["coordinates"]
        row = {k: props.pop(k) for k in ("location_code", "name", "zone_code", "direction", "is_zone_entry", "month")}
        row.update(latitude=lat, longitude=lon)
        for metric, value in props.items():  # the remaining properties are metric answers {value, confidential_cells, complete}
            row.update(
                {
                    metric: value["value"],
                    f"{metric}_confidential_cells": value["confidential_cells"],
                    f"{metric}_complete": value["complete"],
                }
            )
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))  # a site without figures still gets every column
    return pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])


def _manifest_head(con, job: PackageRequest) -> dict:
    """What the manifest says besides its files: the municipality, source deliveries, SDC and audits (also an input)."""
    deliveries = con.execute(
        """select delivery_id, version, content_sha256, sdc_min_cell, sdc_rounding_base, layout from marts.dim_delivery
           where municipality_code = ? and month_start = ? and is_flowing""",
        [job.municipality, job.month_start],
    ).fetchall()
    name = con.execute(
        "select municipality_name from marts.dim_municipality where municipality_code = ?", [job.municipality]
    ).fetchone()
    return {
        "contract": PACKAGE_CONTRACT,
        "vendor": job.vendor.name,
        "municipality": {"code": job.municipality, "name": name[0] if name else None},
        "month": job.month_start[:7],
        "source_deliveries": [{"delivery_id": d[0], "version": d[1], "content_sha256": d[2], "layout": d[5]} for d in deliveries],
        "sdc": {
            "min_cell": deliveries[0][3] if deliveries else None,
            "rounding_base": deliveries[0][4] if deliveries else None,
            "cell_statuses": CELL_STATUSES,
            "rules": [
                "A confidential cell is unknown, not zero; sums that include one are lower bounds (complete = false).",
                "Unique vehicles are counted per zone and month; never add them over months or zones.",
                "Never compute a total minus its visible parts.",
            ],
            "disclosure_audit": delivery_audits(con, [d[0] for d in deliveries]),  # anpr_warehouse/audit/register.py
        },
        "metrics_source": "dbt semantic layer (MetricFlow); the same definitions serve analysts and the report",
        **(
            {
                "csv_spreadsheet_safety": {
                    "text_cells_starting_with": list(SPREADSHEET_TRIGGERS),
                    "are_prefixed_with": SPREADSHEET_ESCAPE,
                    "note": CSV_NOTE,
                }
            }
            if "csv" in job.vendor.formats
            else {}
        ),
    }


def _manifest(con, job: PackageRequest, folder: Path, files: dict[str, dict], fingerprint: str, dbt_manifest: dict) -> str:
    withheld = files.pop("_withheld")["rows"]
    entries = []
    for file_name in sorted(files):
        info = files[file_name]
        entry = {"name": file_name, "sha256": hashlib.sha256((folder / file_name).read_bytes()).hexdigest(), "rows": info["rows"]}
        if "model" in info:
            entry["schema"] = model_columns(info["model"], dbt_manifest)
        if "question" in info:
            entry["question"] = info["question"]
        entries.append(entry)
    doc = _manifest_head(con, job)
    doc["sdc"]["derived_values_withheld_against_differencing"] = withheld
    doc["inputs_sha256"] = fingerprint  # what the package was made from: an export with the same inputs keeps it
    doc["files"] = entries
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
