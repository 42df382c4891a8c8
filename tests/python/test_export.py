"""Vendor packages: entitlements hold, numbers equal the metric layer, nothing can be differenced, bytes repeat."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from anpr_warehouse import export as export_module
from anpr_warehouse.differencing import exposures
from anpr_warehouse.export import export_vendor
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.metrics import MetricLayer, MetricResult, MetricValue
from anpr_warehouse.standard_questions import QUESTIONS, answer, total_for

from .cli_support import anpr, load_and_build

pytestmark = pytest.mark.slow
MONTH = "2025-03-01"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    path = out / "warehouse.duckdb"
    requests = [GenerateRequest(muni, 2025, 3, seed=5, locations=4) for muni in ("GM0344", "GM0363")]
    return load_and_build(path, (generate_delivery(r, out / "deliveries") for r in requests))


@pytest.fixture(scope="module")
def entitlements(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vendors") / "vendors.yml"
    path.write_text(
        "vendors:\n  only0344:\n    municipalities: [GM0344]\n    formats: [parquet, csv, geojson]\n", encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def package(warehouse, entitlements, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packages")
    packages = export_vendor(warehouse, "only0344", out, progress=False, entitlements=entitlements)
    assert [p.relative_to(out).as_posix() for p in packages] == ["only0344/GM0344/2025-03"]
    return packages[0]


def _cli_export(
    warehouse: Path, entitlements: Path, out: Path, *options: str, vendor: str = "only0344"
) -> subprocess.CompletedProcess:
    return anpr(
        "export",
        "--vendor",
        vendor,
        "--out",
        str(out),
        "--warehouse",
        str(warehouse),
        "--entitlements",
        str(entitlements),
        *options,
        timeout=600,
    )


@pytest.mark.parametrize(
    "options",
    [
        ["--municipality", "GM0363"],
        ["--municipality", "GM0344", "GM0363"],
        ["--municipality", "GM0363", "--month", "2025-03"],
        ["--municipality", "gm0363"],
    ],
)
def test_vendor_cannot_get_an_unentitled_municipality(warehouse, entitlements, tmp_path, options):
    out = tmp_path / "out"
    proc = _cli_export(warehouse, entitlements, out, *options)
    assert proc.returncode == 2
    assert "not entitled" in proc.stderr and "nothing was exported" in proc.stderr
    assert not out.exists()


def test_unknown_vendor_is_refused(warehouse, entitlements, tmp_path):
    proc = _cli_export(warehouse, entitlements, tmp_path / "o", vendor="esri")
    assert proc.returncode == 2 and "unknown vendor" in proc.stderr


def test_package_holds_only_the_entitled_municipality(package):
    documentation = {"data_dictionary.md", "manifest.json"}  # column descriptions cite example codes
    data_files = [p for p in package.rglob("*") if p.is_file() and p.name not in documentation]
    assert len(data_files) > 40
    for path in data_files:
        assert b"GM0363" not in path.read_bytes(), f"{path.name} holds data of another municipality"
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["municipality"]["code"] == "GM0344"
    assert all("GM0344" in d["delivery_id"] for d in manifest["source_deliveries"])


def test_manifest_checksums_rows_and_schema(package, warehouse):
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["contract"] == "anpr-vendor-package/1"
    assert [d["delivery_id"] for d in manifest["source_deliveries"]] == ["CBS-ANPR-GM0344-2025MM03-1"]
    assert manifest["sdc"]["min_cell"] == 10 and manifest["sdc"]["rounding_base"] == 5
    listed = {f["name"] for f in manifest["files"]}
    on_disk = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert listed == on_disk
    con = duckdb.connect(str(warehouse))  # same configuration as the metric layer's connection in this process
    for entry in manifest["files"]:
        assert hashlib.sha256((package / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
        if entry["name"].endswith(".parquet"):
            table = pq.read_table(package / entry["name"])
            assert table.num_rows == entry["rows"]
            assert [c["name"] for c in entry["schema"]] == table.column_names
            assert all(c["description"] and c["type"] for c in entry["schema"])
            model = Path(entry["name"]).stem
            if model.startswith("fct_"):
                expected = con.execute(
                    f"select count(*) from marts.{model} where municipality_code = 'GM0344' and month_start = '{MONTH}'"
                ).fetchone()[0]
                assert table.num_rows == expected > 0
    con.close()
    assert "| passages |" in (package / "data_dictionary.md").read_text()


def _result_from_json(doc: dict) -> MetricResult:
    result = MetricResult(group_by=doc["group_by"], metrics=doc["metrics"])
    for row in doc["rows"]:
        result.rows.append(
            {
                **{g: row[g] for g in doc["group_by"]},
                **{m: MetricValue(row[m]["value"], row[m]["confidential_cells"], row[m]["complete"]) for m in doc["metrics"]},
            }
        )
    return result


def test_every_exported_number_equals_the_metric_layer(package, warehouse):
    layer = MetricLayer(warehouse)
    compared = 0
    for question in QUESTIONS:
        exported = json.loads((package / "metrics" / f"{question.name}.json").read_text())
        fresh = answer(layer, question, "GM0344", MONTH)
        assert len(exported["rows"]) == len(fresh.rows), question.name
        for got, want in zip(exported["rows"], fresh.rows):
            for metric in question.metrics:
                value = got[metric]
                if value["value"] is None and not value["complete"] and want[metric].value is not None:
                    continue  # withheld by the differencing guard: never shown, never wrong
                assert value["value"] == pytest.approx(want[metric].value), (question.name, metric)
                assert value["complete"] == want[metric].complete
                compared += 1
    assert compared > 100
    features = json.loads((package / "locations.geojson").read_text())["features"]
    by_location = {
        r["location"]: r["passages"]
        for r in answer(layer, next(q for q in QUESTIONS if q.name == "locations"), "GM0344", MONTH).rows
    }
    for feature in features:
        assert feature["properties"]["passages"]["value"] == by_location[feature["id"]].value


def test_geojson_is_rfc7946_wgs84(package):
    doc = json.loads((package / "locations.geojson").read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 4
    for feature in doc["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Point"
        assert 3.2 < lon < 7.3 and 50.7 < lat < 53.6  # [longitude, latitude] order, WGS84 degrees


def _fact_exposures(path: Path) -> list[str]:
    """Every CBS total in the file against its visible parts: a total minus parts must never isolate one cell."""
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_parquet('{path}')")
    columns = [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 't'").fetchall()]
    dims = [c for c in columns if c.endswith("_code") and c not in ("municipality_code",)]
    found = []
    for status, _value in (("cell_status", "passages"), ("passages_status", "passages"), ("vehicles_status", "vehicles")):
        if status not in columns:
            continue
        total_dims = [d for d in dims if con.execute(f"select count(*) from t where {d} = 'T001'").fetchone()[0]]
        for dim in total_dims:
            others = [d for d in dims if d != dim] + [c for c in ("passage_date", "hour_of_day", "month_start") if c in columns]
            rows = con.execute(f"""
                select {", ".join(others) or "1"} from t group by {", ".join(others) or "1"}
                having bool_or({dim} = 'T001' and {status} = 'published')
                   and count(*) filter (where {dim} <> 'T001' and {status} = 'confidential') = 1
            """).fetchall()
            found += [f"{path.name}: {dim} over {others} = {row}" for row in rows]
    con.close()
    return found


def test_no_confidential_cell_can_be_recomputed_from_any_file(package, warehouse):
    facts = sorted((package / "marts").glob("fct_*.parquet"))
    assert len(facts) == 11  # the daily and monthly passages and fuel totals: sums of published cells of other facts
    found = [e for path in facts for e in _fact_exposures(path)]
    layer = MetricLayer(warehouse)
    for question in QUESTIONS:
        if not question.part_of:
            continue
        exported = _result_from_json(json.loads((package / "metrics" / f"{question.name}.json").read_text()))
        total = total_for(layer, question, "GM0344", MONTH)  # assume the attacker knows the exact total
        for metric in question.metrics:
            found += [str(e) for e in exposures(exported, total, metric, question.part_of, question.part_dimension)]
    assert not found, "\n".join(found[:20])


def test_same_warehouse_gives_byte_identical_packages(package, warehouse, entitlements, tmp_path):
    again = export_vendor(warehouse, "only0344", tmp_path, progress=False, entitlements=entitlements)[0]
    first = {p.relative_to(package).as_posix(): p.read_bytes() for p in package.rglob("*") if p.is_file()}
    second = {p.relative_to(again).as_posix(): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_package_is_complete_or_absent(warehouse, entitlements, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_dictionary", broken)
    with pytest.raises(OSError):
        export_vendor(warehouse, "only0344", tmp_path, progress=False, entitlements=entitlements)
    folder = tmp_path / "only0344" / "GM0344"
    assert not (folder / "2025-03").exists()
    assert list(folder.iterdir()) == []  # no half-written temporary folder either


def test_every_package_parquet_file_is_snappy(package):
    """ArcGIS's browser Parquet layer reads gzip, Snappy or uncompressed only: every column chunk is Snappy."""
    files = sorted(package.rglob("*.parquet"))
    assert len(files) >= 10
    for path in files:
        meta = pq.ParquetFile(path).metadata
        codecs = {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
        assert codecs == {"SNAPPY"}, (path.name, codecs)


def test_locations_csv_has_latitude_longitude_and_the_geojson_figures(package):
    import csv

    rows = list(csv.DictReader((package / "locations.csv").open(encoding="utf-8")))
    features = {f["id"]: f for f in json.loads((package / "locations.geojson").read_text())["features"]}
    assert sorted(r["location_code"] for r in rows) == sorted(features)
    for row in rows:
        feature = features[row["location_code"]]
        lon, lat = feature["geometry"]["coordinates"]
        assert (float(row["latitude"]), float(row["longitude"])) == (lat, lon)
        assert float(row["passages"]) == feature["properties"]["passages"]["value"]
        assert row["passages_complete"] == str(feature["properties"]["passages"]["complete"]).lower()
    manifest = json.loads((package / "manifest.json").read_text())
    assert "locations.csv" in {f["name"] for f in manifest["files"]}
    assert "locations.csv" in (package / "data_dictionary.md").read_text()


def test_vendors_option_reads_the_entitlements_file(warehouse, entitlements, tmp_path):
    """`--vendors PATH` (as for anpr serve and anpr report) is the same file as --entitlements."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "anpr_warehouse.cli",
            "export",
            "--vendor",
            "only0344",
            "--vendors",
            str(entitlements),
            "--municipality",
            "GM0363",
            "--out",
            str(tmp_path / "out"),
            "--warehouse",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "not entitled to GM0363" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_questions_asked_together_equal_each_question_asked_alone(warehouse):
    """The export asks questions of the same shape in one query (question_batch.py); the split answers are the same."""
    from anpr_warehouse.question_batch import TOTAL, answers

    layer = MetricLayer(warehouse)
    together = answers(layer, QUESTIONS, "GM0344", MONTH, totals=True)
    merged_shapes = len({(frozenset(q.group_by), q.where) for q in QUESTIONS})
    assert merged_shapes < len(QUESTIONS)  # some questions do share a query, or this test proves nothing
    for question in QUESTIONS:
        alone = answer(layer, question, "GM0344", MONTH)
        assert (together[question.name].group_by, together[question.name].rows) == (alone.group_by, alone.rows), question.name
        assert together[question.name].rows, question.name
        if question.part_of:
            total = total_for(layer, question, "GM0344", MONTH)
            assert together[TOTAL + question.name].rows == total.rows, question.name


def test_a_package_describes_the_snapshot_it_was_cut_from(warehouse, entitlements, package, tmp_path):
    """Tables, docs and schemas come from the snapshot's own manifest.json, not the project's target/ folder.

    A second snapshot is published with a manifest that documents dim_zone differently and leaves
    fct_visit_frequency out of the vendor package (as a later build could): its package follows it, while
    the project's target/manifest.json (which says neither) gives the first package.
    """
    import shutil

    from anpr_warehouse.dbt_manifest import MANIFEST
    from anpr_warehouse.snapshots import current_snapshot

    snapshot = current_snapshot(warehouse)
    other = tmp_path / "other-snapshot"
    shutil.copytree(snapshot.folder, other)
    doc = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    doc["nodes"]["model.anpr_warehouse.dim_zone"]["description"] = "Zones as the other build documented them."
    exposure = doc["exposures"]["exposure.anpr_warehouse.vendor_package"]
    exposure["refs"] = [r for r in exposure["refs"] if r["name"] != "fct_visit_frequency"]
    (other / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    project = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert "fct_visit_frequency" in {r["name"] for r in project["exposures"]["exposure.anpr_warehouse.vendor_package"]["refs"]}

    [other_package] = export_vendor(
        other / snapshot.database.name, "only0344", tmp_path / "out", progress=False, entitlements=entitlements
    )

    listed = {f["name"]: f for f in json.loads((other_package / "manifest.json").read_text(encoding="utf-8"))["files"]}
    assert "marts/fct_visit_frequency.parquet" not in listed and "marts/fct_passages_hourly.parquet" in listed
    assert not (other_package / "marts" / "fct_visit_frequency.parquet").exists()
    dictionary = (other_package / "data_dictionary.md").read_text(encoding="utf-8")
    assert "Zones as the other build documented them." in dictionary and "### fct_visit_frequency" not in dictionary
    first = (package / "data_dictionary.md").read_text(encoding="utf-8")
    assert "Zones as the other build documented them." not in first and "### fct_visit_frequency" in first
    assert (package / "marts" / "fct_visit_frequency.parquet").exists()
