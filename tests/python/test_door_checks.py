"""The door's contract rules that a faulty-delivery entry cannot show: shapes that must LOAD
(nested totals, the autumn day's H02, the spring day's Impossible H02), manifests that must be
refused without a traceback, and the municipality seed against CBS's 2025 boundaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import load_delivery
from anpr_warehouse.load.parsing import strict_date_sql
from anpr_warehouse.load.validate import check_delivery
from anpr_warehouse.paths import PROJECT_ROOT, SEEDS_DIR

from .conftest import SMALL
from .faulty import edit_lines, refresh_manifest

SEED_SCRIPT = PROJECT_ROOT / "scripts" / "make_municipality_seed.py"


def _rows(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    refresh_manifest(path.parent)


def _keep_nested_totals(path: Path) -> int:
    """Keeps the details and only the contract's nested totals of a T03/T04 file; returns rows dropped.

    Nested (contract, Observations): the last dimension's total within each value of the one
    before, that one's total within each category, and the grand total; no other T001 row.
    """
    header, *rows = _rows(path)
    first, second, third = (header.index(d) for d in header[3:6])
    nested = {
        (False, False, True),  # e.g. the first-admission-year total within each emission class
        (False, True, True),  # the emission-class total within each category
        (True, True, True),  # the grand total over everything but the zone
        (False, False, False),  # details
    }
    kept = [r for r in rows if tuple(r[i] == c.TOTAL for i in (first, second, third)) in nested]
    _write_rows(path, [header] + kept)
    return len(rows) - len(kept)


def test_nested_totals_load(copy_delivery, tmp_path):
    folder = copy_delivery("v1_april")
    dropped = {t: _keep_nested_totals(folder / f"{t}_Observations.csv") for t in ("T03", "T04")}
    assert all(n > 0 for n in dropped.values()), dropped  # the generator wrote more totals than the nested set
    assert load_delivery(folder, tmp_path / "wh.duckdb").status == "loaded"


def test_fewer_totals_than_nested_are_refused(copy_delivery):
    folder = copy_delivery("v1_april")
    path = folder / "T03_Observations.csv"
    header, *rows = _rows(path)
    dims = [header.index(d) for d in ("VehicleCategory", "EmissionClass", "FirstAdmissionYear")]
    _write_rows(path, [header] + [r for r in rows if not all(r[i] == c.TOTAL for i in dims)])
    checked, problems = check_delivery(folder)
    assert checked is None
    assert {p.rule for p in problems} == {"totals"} and all(p.file == "T03_Observations.csv" for p in problems)


@pytest.fixture(scope="module")
def october(tmp_path_factory) -> Path:
    return generate_delivery(GenerateRequest("GM0344", 2025, 10, **SMALL), tmp_path_factory.mktemp("october"))


def test_autumn_day_h02_loads_once(october, tmp_path):
    autumn = c.last_sunday(2025, 10)
    assert autumn == dt.date(2025, 10, 26)
    rows = _rows(october / "T01_Observations.csv")
    assert any(r[3] == autumn.isoformat() and r[4] == c.DST_GAP_HOUR for r in rows)
    assert load_delivery(october, tmp_path / "wh.duckdb").status == "loaded"


def test_autumn_day_h02_twice_is_a_duplicate_cell(october, tmp_path):
    folder = tmp_path / october.name
    folder.mkdir()
    for path in october.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    header, *rows = _rows(folder / "T01_Observations.csv")
    second = next(r for r in rows if r[3] == "2025-10-26" and r[4] == c.DST_GAP_HOUR)
    _write_rows(folder / "T01_Observations.csv", [header] + rows + [[str(10**6)] + second[1:]])
    checked, problems = check_delivery(folder)
    assert checked is None and {p.rule for p in problems} == {"duplicate-cell"}


def test_spring_day_with_impossible_h02_loads(copy_delivery, tmp_path):
    """The shape the contract asks for (and CBS sends): every T01 cell of 2025-03-30 H02 Impossible."""
    folder = copy_delivery("v1")
    path = folder / "T01_Observations.csv"
    header, *rows = _rows(path)
    gap = [r for r in rows if r[3] == "2025-03-30" and r[4] == c.DST_GAP_HOUR]
    assert gap
    for r in gap:
        r[6:8] = ["", "Impossible"]
    _write_rows(path, [header] + rows)
    result = load_delivery(folder, tmp_path / "wh.duckdb")
    assert result.status == "loaded"


def test_legacy_spring_hour_two_all_secret_loads(copy_delivery, tmp_path):
    def secret_hour_two(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            fields = line.split(";")
            if len(fields) > 3 and fields[1] == "30-03-2025" and fields[2] == "2":
                fields[3:] = ["."] * (len(fields) - 3)
            out.append(";".join(fields))
        return out

    folder = edit_lines("passages_per_uur.csv", secret_hour_two)(copy_delivery("legacy"))
    assert load_delivery(folder, tmp_path / "wh.duckdb").status == "loaded"


def _set(doc: dict, path: str, value) -> None:
    *parents, key = path.split(".")
    for parent in parents:
        doc = doc[parent]
    doc[key] = value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", True),
        ("version", 1.0),
        ("version", [1]),
        ("version", None),
        ("version", -1),
        ("version", 10000),
        ("sdc.min_cell", "10"),
        ("sdc.min_cell", 0),
        ("sdc.rounding_base", 10**6),
        ("sdc", [5]),
        ("period.code", 202503),
        ("period.code", "\uff12\uff10\uff12\uff15MM03"),
        ("period.code", "2025MM3"),
        ("period.code", "1999MM03"),
        ("period", "2025MM03"),
        ("municipality.code", None),
        ("municipality.code", "gm0344"),
        ("municipality.code", "GM0344\n"),
        ("municipality", ["GM0344"]),
        ("files", {"name": "T01_Observations.csv"}),
    ],
    ids=str,
)
def test_a_bad_manifest_is_refused_never_raised(copy_delivery, field, value):
    folder = copy_delivery("v1_april")
    manifest = folder / "delivery.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    _set(doc, field, value)
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    checked, problems = check_delivery(folder)
    assert checked is None
    assert {p.rule for p in problems} <= {"manifest", "date-range", "municipality", "text"}, [str(p) for p in problems]


@pytest.mark.parametrize("text", ['{"version": 1' + "0" * 5000 + "}", "[" * 100_000 + "]" * 100_000], ids=["5001 digits", "deep"])
def test_unparseable_json_is_refused_never_raised(copy_delivery, text):
    folder = copy_delivery("v1_april")
    (folder / "delivery.json").write_text(text, encoding="utf-8")
    checked, problems = check_delivery(folder)
    assert checked is None and "manifest" in {p.rule for p in problems}


@pytest.mark.parametrize(
    ("pattern", "fmt", "good", "bad"),
    [
        (
            c.ISO_DATE_PATTERN,
            "%Y-%m-%d",
            "2025-03-05",
            [
                "2025-3-5",
                " 2025-03-05",
                "2025-03-05 ",
                "0000-01-01",
                "1999-12-31",
                "2100-01-01",
                "2025-02-29",
                "\uff12\uff10\uff12\uff15-03-05",
                "2025-03-05\n",
                "2025-03-05T00:00",
            ],
        ),
        (c.LEGACY_DATE_PATTERN, "%d-%m-%Y", "05-03-2025", ["5-3-2025", "05-03-25", " 05-03-2025", "31-04-2025", "05-03-0000"]),
    ],
    ids=["iso", "legacy"],
)
def test_strict_date_sql(pattern, fmt, good, bad):
    con = duckdb.connect()
    con.execute("create table d (x varchar)")
    con.executemany("insert into d values (?)", [[good]] + [[b] for b in bad])
    accepted = [r[0] for r in con.execute(f"select x from d where {strict_date_sql('x', pattern, fmt)}").fetchall()]
    assert accepted == [good]


def test_spring_forward_day():
    assert c.spring_forward_day(2025, 3) == dt.date(2025, 3, 30)
    assert c.spring_forward_day(2026, 3) == dt.date(2026, 3, 29)
    assert c.spring_forward_day(2025, 10) is None


def test_identifier_patterns_are_ascii_and_whole():
    assert c.MUNICIPALITY_RE.match("GM0344")
    for bad in ("GM0344\n", "GM03445", "GM\uff10\uff13\uff14\uff14", "GM034"):
        assert not c.MUNICIPALITY_RE.match(bad), bad
    assert not c.PERIOD_MONTH_RE.match("\uff12\uff10\uff12\uff15MM03")
    assert not c.LEGACY_FILE_RE.match("GM0344_2025-03_locaties.csv\n")


def _topojson_municipalities() -> dict[str, str]:
    topology = json.loads((PROJECT_ROOT.parent / "shared" / "geo" / "gemeente_2025.topojson").read_text(encoding="utf-8"))
    (collection,) = topology["objects"].values()
    return {g["properties"]["statcode"]: g["properties"]["statnaam"] for g in collection["geometries"]}


def _seed() -> list[dict[str, str]]:
    with open(SEEDS_DIR / "reference" / "ref_municipalities.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_seed_holds_every_municipality_of_2025():
    cbs, seed = _topojson_municipalities(), _seed()
    assert len(cbs) == 342
    assert {r["municipality_code"]: r["municipality_name"] for r in seed} == cbs
    assert "GM1680" in cbs and "GM9999" not in cbs
    utrecht = next(r for r in seed if r["municipality_code"] == "GM0344")
    assert (utrecht["province_code"], utrecht["centre_latitude"], utrecht["ze_zone_start_date"]) == (
        "PV26",
        "52.0907",
        "2025-01-01",
    )
    for row in seed:  # every centre lies in the Netherlands
        assert 50.7 < float(row["centre_latitude"]) < 53.6 and 3.3 < float(row["centre_longitude"]) < 7.3, row


def test_seed_script_reproduces_the_seed():
    spec = importlib.util.spec_from_file_location("make_municipality_seed", SEED_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    seed = _seed()
    topology = json.loads(script.TOPOJSON.read_text(encoding="utf-8"))
    curated = {r["municipality_code"]: r for r in seed if r["province_code"]}
    assert script.municipality_rows(topology, curated) == seed
