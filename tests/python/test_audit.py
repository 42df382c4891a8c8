"""The disclosure audit on hand-made deliveries whose answer is worked out below, and on a generated one.

The hand-made delivery (GM0344, one location, 2025-03-03, zone Z01) hides four cells:

- T02 BEST total over fuels (true 48). On its own T02 allows 0..48: the day total 100 (98..102)
  minus PERS, VRAC and TREK (20 each, so at least 18 each). T01 publishes BEST at H08 as 50
  (at least 48) and 0 at every other hour, and T01 summed over the hours equals T02's total,
  so the cell is at least 48: exactly 48, recoverable only through the T01-T02 link.
- T05 own-municipality vehicles over all categories (true 48): the zone total 100 (<= 102) minus
  PV26, PV27 and BUITENLAND (20 each, >= 18) leaves <= 48; its category breakdown publishes BEST
  as 50 (>= 48): exactly 48 through the rounding bounds of one table.
- T02 PERS diesel and electric (true 10 and 8): together at most PERS's 22, each anywhere in 0..22:
  safe. T04 sector F (vehicles): anywhere in 0..84: safe.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.audit import audit_cells, cells_from_warehouse
from anpr_warehouse.audit.cells import cells_from_path
from anpr_warehouse.audit.protect import protect_minimal
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.generate.writers import CODE_LIST_SEEDS, sha256_file
from anpr_warehouse.load import load_delivery
from anpr_warehouse.reference import dutch_titles
from anpr_warehouse.warehouse import table_checksums

C = "Confidential"
LOC, DAY, ZONE = "GM0344_L001", "2025-03-03", "GM0344_Z01"
CATEGORIES = c.VEHICLE_CATEGORIES


def _t01_rows() -> list[tuple]:
    """Every hour has all seven categories and their total; traffic only at H08 (BEST) and H09."""
    busy = {"H08": {"BEST": 50}, "H09": {"PERS": 20, "VRAC": 20, "TREK": 20}}
    totals = {"H08": 50, "H09": 55}  # true 48 and 54
    rows = []
    for hour in c.HOURS:
        for category in CATEGORIES:
            rows.append(("M_PASSAGES", LOC, DAY, hour, category, busy.get(hour, {}).get(category, 0)))
        rows.append(("M_PASSAGES", LOC, DAY, hour, c.TOTAL, totals.get(hour, 0)))
    return rows


def _t02_rows() -> list[tuple]:
    totals = {"BEST": C, "PERS": 20, "VRAC": 20, "TREK": 20, "BUSS": 0, "OVER": 0, "ONBK": 0, c.TOTAL: 100}
    rows = [("M_PASSAGES", LOC, DAY, category, c.TOTAL, value) for category, value in totals.items()]
    return rows + [("M_PASSAGES", LOC, DAY, "PERS", "DIES", C), ("M_PASSAGES", LOC, DAY, "PERS", "ELEK", C)]


def _zone_totals(code: str) -> list[tuple]:
    table = c.OBSERVATION_TABLES[code]
    rest = (c.TOTAL,) * (len(table.dimensions) - 1)
    values = {"M_PASSAGES": 300, "M_VEHICLES": 100}
    return [(measure, ZONE) + rest + (values[measure],) for measure in table.measures]


def _t05_rows() -> list[tuple]:
    regions = {r: 0 for r in c.OWNER_REGIONS} | {"GM_EIGEN": C, "PV26": 20, "PV27": 20, "BUITENLAND": 20}
    rows = _zone_totals("T05") + [("M_VEHICLES", ZONE, c.TOTAL, r, v) for r, v in regions.items()]
    return rows + [("M_VEHICLES", ZONE, cat, "GM_EIGEN", 50 if cat == "BEST" else 0) for cat in CATEGORIES]


def _write_csv(path: Path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_delivery(out: Path, tables: dict[str, list[tuple]]) -> Path:
    """A valid v1 delivery for GM0344 March 2025 holding exactly the given observation rows."""
    year, ident = 2025, c.delivery_id("GM0344", 2025, 3, 1)
    folder = out / ident
    folder.mkdir(parents=True)
    _write_csv(folder / c.MEASURE_CODES_FILE, c.MEASURE_CODES_HEADER, [(k,) + v for k, v in c.MEASURES.items()])
    for file, code_list in c.code_lists(year).items():
        if file == "Locations.csv":
            rows = [(LOC, "Catharijnesingel (Utrecht)", "", ZONE, "IN", "52.088000", "5.112000")]
        elif file == "Zones.csv":
            rows = [(ZONE, "Zero-emissiezone Utrecht", "", "ZE", "2025-01-01")]
        else:
            titles = dutch_titles(CODE_LIST_SEEDS[file]) if file in CODE_LIST_SEEDS else {}
            rows = [(code, titles.get(code, code), "") for code in code_list.identifiers] + [(c.TOTAL, "Totaal", "")]
        _write_csv(folder / file, c.CODE_LIST_HEADER + code_list.extra_columns, rows)
    counts = {}
    for code, rows in tables.items():
        table = c.OBSERVATION_TABLES[code]
        lines = [(i + 1,) + row[:-1] + (("", C) if row[-1] == C else (str(row[-1]), "None")) for i, row in enumerate(rows)]
        _write_csv(folder / table.file, table.header, lines)
        counts[table.file] = len(lines)
    manifest = {
        "contract": c.CONTRACT_V1,
        "delivery_id": ident,
        "municipality": {"code": "GM0344", "name": "Utrecht"},
        "period": {"code": "2025MM03", "start": "2025-03-01", "end": "2025-03-31"},
        "version": 1,
        "supersedes": None,
        "produced_at": "2025-04-20T10:00:00+02:00",
        "sdc": {"min_cell": 10, "rounding_base": 5},
        "files": [
            {"name": f, "sha256": sha256_file(folder / f), "rows": counts.get(f, len((folder / f).read_text().splitlines()) - 1)}
            for f in c.v1_files(year)
        ],
    }
    (folder / "delivery.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def known_tables() -> dict[str, list[tuple]]:
    t04 = _zone_totals("T04") + [("M_VEHICLES", ZONE, c.TOTAL, c.TOTAL, "F", C), ("M_VEHICLES", ZONE, c.TOTAL, c.TOTAL, "G", 20)]
    return {
        "T01": _t01_rows(),
        "T02": _t02_rows(),
        "T03": _zone_totals("T03"),
        "T04": t04,
        "T05": _t05_rows(),
        "T06": _zone_totals("T06"),
    }


@pytest.fixture(scope="module")
def known(tmp_path_factory) -> Path:
    return write_delivery(tmp_path_factory.mktemp("audit-known"), known_tables())


def _at_risk(result) -> dict[tuple, tuple[int, int]]:
    return {(r.cell.table, r.cell.measure) + r.cell.dims: (r.lower, r.upper) for r in result.at_risk}


def test_audit_finds_exactly_the_link_and_the_rounding_disclosures(known):
    delivery = cells_from_path(known)
    result = audit_cells(delivery)
    assert result.confidential == 5
    assert _at_risk(result) == {
        ("T02", "M_PASSAGES", LOC, DAY, "BEST", c.TOTAL): (48, 48),
        ("T05", "M_VEHICLES", ZONE, c.TOTAL, "GM_EIGEN"): (48, 48),
    }
    assert result.exact == 2 and not result.notes
    link = next(r for r in result.at_risk if r.cell.table == "T02")
    assert any(label.startswith("T01-T02") for label in link.constraints)
    assert any("VehicleCategory=BEST = 50" in pinned and "T01_" in pinned for pinned in link.pinned_by)


def test_without_the_link_the_t02_cell_is_safe(known):
    """The same delivery without T01: nothing ties BEST's day total from below, so only T05 stays at risk."""
    delivery = cells_from_path(known)
    del delivery.tables["T01"]
    assert set(_at_risk(audit_cells(delivery))) == {("T05", "M_VEHICLES", ZONE, c.TOTAL, "GM_EIGEN")}


def test_min_cell_rule_keeps_the_answer_and_the_warehouse_copy_audits_the_same(known, tmp_path):
    with_rule = audit_cells(cells_from_path(known), min_cell_rule=True)
    assert set(_at_risk(with_rule)) == set(_at_risk(audit_cells(cells_from_path(known))))
    warehouse = tmp_path / "wh.duckdb"
    load_delivery(known, warehouse, audit=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loaded = audit_cells(cells_from_warehouse(con, c.delivery_id("GM0344", 2025, 3, 1)))
    finally:
        con.close()
    assert _at_risk(loaded) == _at_risk(audit_cells(cells_from_path(known)))


def _anpr(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANPR_LOAD_AUDIT": "1"}  # loads here are audited, as outside the test suite
    return subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_cli_exit_codes_and_csv(known, tmp_path):
    out = tmp_path / "risk.csv"
    proc = _anpr("audit", str(known), "--format", "csv", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "5 confidential, 2 at risk" in proc.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted((r["file"], r["lower"], r["upper"], r["exact"]) for r in rows) == [
        ("T02_Observations.csv", "48", "48", "True"),
        ("T05_Observations.csv", "48", "48", "True"),
    ]
    safe = write_delivery(
        tmp_path / "safe",
        {
            **known_tables(),
            "T02": [r for r in _t02_rows() if r[-1] != C] + [("M_PASSAGES", LOC, DAY, "BEST", c.TOTAL, 50)],
            "T05": _zone_totals("T05"),
        },
    )
    proc = _anpr("audit", str(safe), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)[0]["cells_at_risk"] == 0


def test_unreadable_delivery_is_refused_with_the_loaders_problems(known, tmp_path):
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(known), str(broken)], check=True)
    (broken / "T01_Observations.csv").write_text("nonsense\n", encoding="utf-8")
    proc = _anpr("audit", str(broken))
    assert proc.returncode == 1
    assert "does not pass the loader's checks" in proc.stderr and "T01_Observations.csv" in proc.stderr


def test_generated_delivery_audits_in_bounded_time(tmp_path):
    """Two locations for a month: the generator's table-by-table suppression leaves cells at risk (exit 2)."""
    folder = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=3, locations=2, protection="table"), tmp_path)
    out = tmp_path / "audit.json"
    proc = _anpr("audit", str(folder), "--format", "json", "--out", str(out), "--jobs", "2", timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads(out.read_text())[0]
    assert report["cells_confidential"] > 1000
    assert 0 < report["cells_at_risk"] == len(report["at_risk"]) < report["cells_confidential"]
    assert all(int(r["upper"]) - int(r["lower"]) < 10 for r in report["at_risk"])


def test_every_load_is_audited_and_the_register_shows_it(known, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    proc = _anpr("load", str(known), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stderr
    assert "disclosure audit: 2 cells at risk" in proc.stdout
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            "select cells_confidential, cells_at_risk, cells_exact, min_cell_rule from raw.cbs_delivery_audits"
        ).fetchall()
    finally:
        con.close()
    assert row == [(5, 2, 2, True)]
    listing = _anpr("deliveries", "--warehouse", str(warehouse)).stdout.splitlines()
    assert listing[0].split()[-1] == "at_risk" and listing[1].split()[-1] == "2"
    again = _anpr("load", str(known), "--warehouse", str(warehouse))
    assert again.returncode == 0 and "already loaded" in again.stdout and "audit" not in again.stdout


def test_load_without_audit_keeps_no_audit_row(known, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    proc = _anpr("load", str(known), "--warehouse", str(warehouse), "--no-audit")
    assert proc.returncode == 0 and "audit" not in proc.stdout
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
    finally:
        con.close()
    assert "cbs_deliveries" in tables and "cbs_delivery_audits" not in tables
    listing = _anpr("deliveries", "--warehouse", str(warehouse)).stdout.splitlines()
    assert listing[0].split()[-1] == "at_risk" and listing[1].split()[-1] != "2"


@pytest.mark.slow
def test_export_manifest_carries_the_audit_and_warns(tmp_path):
    """A month protected table by table, as CBS does (cells at risk across tables): the package says how many, and export warns."""
    folder = generate_delivery(
        GenerateRequest("GM0344", 2025, 3, seed=3, locations=2, protection="table"), tmp_path / "deliveries"
    )
    warehouse = tmp_path / "wh.duckdb"
    assert _anpr("load", str(folder), "--warehouse", str(warehouse)).returncode == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        stored = con.execute("select delivery_id, cells_at_risk, cells_exact from raw.cbs_delivery_audits").fetchall()
    finally:
        con.close()
    [(ident, at_risk, exact)] = stored
    assert at_risk > 0
    build = _anpr("build", "--warehouse", str(warehouse), timeout=900)
    assert build.returncode == 0, build.stdout[-3000:]
    entitlements = tmp_path / "vendors.yml"
    entitlements.write_text("vendors:\n  only0344:\n    municipalities: [GM0344]\n    formats: [csv]\n", encoding="utf-8")
    proc = _anpr(
        "export",
        "--vendor",
        "only0344",
        "--out",
        str(tmp_path / "out"),
        "--warehouse",
        str(warehouse),
        "--entitlements",
        str(entitlements),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"has {at_risk} confidential cells at risk" in proc.stderr
    manifest = json.loads((tmp_path / "out" / "only0344" / "GM0344" / "2025-03" / "manifest.json").read_text())
    [audit] = manifest["sdc"]["disclosure_audit"]
    assert (audit["delivery_id"], audit["cells_at_risk"], audit["cells_exact"], audit["audited"]) == (ident, at_risk, exact, True)

    before = table_checksums(warehouse), table_checksums(warehouse, "marts"), hashlib.sha256(warehouse.read_bytes()).hexdigest()
    protected = _anpr(
        "export",
        "--vendor",
        "only0344",
        "--out",
        str(tmp_path / "protected"),
        "--warehouse",
        str(warehouse),
        "--entitlements",
        str(entitlements),
        "--protect",
        timeout=1200,
    )
    assert protected.returncode == 0, protected.stderr
    hidden = int(
        re.search(
            rf"protected {ident}: (\d+) more published cells marked confidential .*\(0 cells still at risk\)", protected.stderr
        ).group(1)
    )
    assert hidden > 0 and "at risk when its tables are read together" not in protected.stderr
    package = tmp_path / "protected" / "only0344" / "GM0344" / "2025-03"
    [audit] = json.loads((package / "manifest.json").read_text())["sdc"]["disclosure_audit"]
    assert (audit["cells_at_risk"], audit["cells_suppressed_for_package"]) == (0, hidden)
    plain = tmp_path / "out" / "only0344" / "GM0344" / "2025-03"
    assert _confidential_in(package) > _confidential_in(plain)
    # CBS's data in the warehouse stays as delivered, and so do its marts: the package's cells are hidden in a copy
    assert (
        table_checksums(warehouse),
        table_checksums(warehouse, "marts"),
        hashlib.sha256(warehouse.read_bytes()).hexdigest(),
    ) == before
    # the fewest cells: what the protection of the same rows chooses, proven clean group by group
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        expected = protect_minimal(cells_from_warehouse(con, ident), min_cell_rule=True, jobs=2, final_audit=False)
    finally:
        con.close()
    assert (hidden, expected.unresolved) == (len(expected.suppressed), 0)


def _confidential_in(package: Path) -> int:
    """Cells marked confidential in the package's fact tables."""
    return sum(
        row.get("cell_status") == "confidential"
        for path in (package / "marts").glob("fct_*.csv")
        for row in csv.DictReader(path.open(encoding="utf-8"))
    )


def test_protect_hides_few_extra_cells_until_the_copy_audits_clean(known):
    from anpr_warehouse.audit.protect import protect_cells

    original = cells_from_path(known)
    protection = protect_cells(original)
    assert protection.audit.at_risk == [] and not protection.audit.notes
    assert 1 <= len(protection.suppressed) <= 10  # greedy, not minimal: 8 today (see docs)
    assert all(cell.attribute == "None" and cell.value for cell in protection.suppressed)
    assert protection.audit.confidential == 5 + len(protection.suppressed)
    assert audit_cells(original).confidential == 5  # the delivery's own cells are untouched


def test_nested_totals_give_only_the_constraints_that_exist():
    """T03 nested as CBS often writes it: FA total within each class, class total within the category, grand total."""
    from anpr_warehouse.audit.cells import Cell, DeliveryCells
    from anpr_warehouse.audit.constraints import build_system

    T = c.TOTAL
    rows = [
        (T, T, T, 100),
        ("BEST", T, T, 100),
        ("BEST", "E6", T, 60),
        ("BEST", "EZ", T, 40),
        ("BEST", "E6", "FA2020", 60),
        ("BEST", "EZ", "FA2023", C),
    ]
    lists = {
        "VehicleCategory": CATEGORIES,
        "EmissionClass": c.EMISSION_CLASSES,
        "FirstAdmissionYear": c.first_admission_years(2025),
    }

    def delivery_of(rows):
        cells = [
            Cell("T03", i + 2, "M_VEHICLES", (ZONE,) + tuple(key), None if v == C else v, C if v == C else "None")
            for i, (*key, v) in enumerate(rows)
        ]
        return DeliveryCells("nested", 10, 5, {"T03": cells}, lists)

    delivery = delivery_of(rows)
    labels = sorted(row.label for row in build_system(delivery).rows)
    assert labels == [
        f"T03 M_VEHICLES Zone={ZONE} EmissionClass=T001 FirstAdmissionYear=T001: VehicleCategory=T001 >= sum over VehicleCategory",
        f"T03 M_VEHICLES Zone={ZONE} VehicleCategory=BEST EmissionClass=E6: FirstAdmissionYear=T001 >= sum over FirstAdmissionYear",
        f"T03 M_VEHICLES Zone={ZONE} VehicleCategory=BEST EmissionClass=EZ: FirstAdmissionYear=T001 >= sum over FirstAdmissionYear",
        f"T03 M_VEHICLES Zone={ZONE} VehicleCategory=BEST FirstAdmissionYear=T001: EmissionClass=T001 >= sum over EmissionClass",
    ]
    # EZ's other years are missing, so the class total (<= 42) only bounds the hidden cell from above: safe
    assert audit_cells(delivery).at_risk == []
    # with every year present (published 0, exactly 0 under the min-cell rule) the total pins it to 38..42
    full = rows + [("BEST", "EZ", fa, 0) for fa in c.first_admission_years(2025) if fa != "FA2023"]
    assert [(r.lower, r.upper) for r in audit_cells(delivery_of(full), min_cell_rule=True).at_risk] == [(38, 42)]
