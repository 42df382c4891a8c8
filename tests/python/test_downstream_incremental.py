"""Downstream follows: `anpr export` and `anpr report` rewrite only what changed, through the real CLI on a real warehouse.

One story, run once: Utrecht February to April is built, exported and reported; the same
commands run again; then March is corrected (a version 2) and Amsterdam's April arrives,
the warehouse is built again and the commands run a third time. The tests read what each
run said and what it left on disk (bytes and modification times of every file).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import load_delivery

pytestmark = pytest.mark.slow
SMALL = dict(seed=21, locations=4)
VENDOR = "only0344"
MONTH_PAGES = ("overview", "time_profile", "vehicle_mix", "ze_access", "sectors", "origin", "visit_frequency", "locations")


def _anpr(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "anpr_warehouse.cli", *args], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    return proc


def _files(root: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (modification time in ns, sha256) of every file under root."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("downstream")
    warehouse, deliveries = root / "warehouse.duckdb", root / "deliveries"
    vendors = root / "vendors.yml"
    vendors.write_text(f"vendors:\n  {VENDOR}:\n    municipalities: [GM0344]\n    formats: [parquet, csv, geojson]\n")
    exports, report = root / "exports", root / "report"
    for month in (2, 3, 4):
        load_delivery(generate_delivery(GenerateRequest("GM0344", 2025, month, **SMALL), deliveries), warehouse)
    common = ("--warehouse", str(warehouse))

    def export() -> str:
        return _anpr("export", "--vendor", VENDOR, "--vendors", str(vendors), "--out", str(exports), *common).stderr

    def site(month: str) -> str:
        return _anpr("report", "--municipality", "GM0344", "--month", month, "--out", str(report), *common).stderr

    _anpr("build", *common)
    runs = {"export1": export(), "april1": site("2025-04"), "february1": site("2025-02")}
    files = {"export1": _files(exports), "report1": _files(report)}
    runs |= {"export2": export(), "april2": site("2025-04")}
    files |= {"export2": _files(exports), "report2": _files(report)}
    correction = GenerateRequest("GM0344", 2025, 3, version=2, **SMALL)
    load_delivery(generate_delivery(correction, deliveries / "v2"), warehouse)
    load_delivery(generate_delivery(GenerateRequest("GM0363", 2025, 4, **SMALL), deliveries), warehouse)
    _anpr("build", *common)
    runs |= {"export3": export(), "february3": site("2025-02"), "april3": site("2025-04")}
    files |= {"export3": _files(exports), "report3": _files(report)}
    return {"runs": runs, "files": files, "exports": exports / VENDOR / "GM0344", "report": report / "GM0344"}


def _site(files: dict, month: str) -> dict:
    """The files of GM0344's site for one month, by their name inside the site."""
    prefix = f"GM0344/{month}/"
    return {name[len(prefix) :]: value for name, value in files.items() if name.startswith(prefix)}


def _months(names: set[str]) -> set[str]:
    """The package months (VENDOR/GM0344/YYYY-MM/...) the file names belong to."""
    return {name.split("/")[2] for name in names}


def test_second_export_rewrites_nothing_and_says_so(story):
    said = story["runs"]["export2"]
    for month in ("2025-02", "2025-03", "2025-04"):
        assert f"GM0344 {month}: unchanged, kept (sha256 " in said
    assert "written" not in said
    assert _changed(story["files"]["export1"], story["files"]["export2"]) == set()  # same bytes, same mtimes


def test_first_export_says_what_it_wrote_and_records_its_inputs(story):
    assert story["runs"]["export1"].count(": written (new) (sha256 ") == 3
    manifest = json.loads((story["exports"] / "2025-02" / "manifest.json").read_text())  # kept through every run
    assert len(manifest["inputs_sha256"]) == 64
    assert f"GM0344 2025-02: written (new) (sha256 {manifest['inputs_sha256'][:16]})" in story["runs"]["export1"]


def test_correction_rewrites_its_month_and_the_month_comparing_with_it(story):
    """A March correction renews March, and April (its change against the previous month reads March); February stays."""
    changed = _changed(story["files"]["export2"], story["files"]["export3"])
    assert _months(changed) == {"2025-03", "2025-04"}
    said = story["runs"]["export3"]
    assert "GM0344 2025-02: unchanged, kept" in said
    assert "GM0344 2025-03: written (inputs changed)" in said and "GM0344 2025-04: written (inputs changed)" in said
    march = json.loads((story["exports"] / "2025-03" / "manifest.json").read_text())
    assert [d["version"] for d in march["source_deliveries"]] == [2]
    # April's own data did not change, but its comparison with March did: the offset window is a real input
    before, after = story["files"]["export2"], story["files"]["export3"]
    new_bytes = {name for name in changed if before.get(name, (0, ""))[1] != after.get(name, (0, ""))[1]}
    assert "only0344/GM0344/2025-04/metrics/overview_month.json" in new_bytes
    assert "only0344/GM0344/2025-04/marts/fct_passages_hourly.parquet" not in new_bytes


def test_damaged_package_is_rewritten(story, tmp_path):
    """A package whose files no longer match its manifest is not kept, whatever its fingerprint says."""
    import shutil

    out = tmp_path / "exports"
    shutil.copytree(story["exports"].parent.parent, out)
    target = out / VENDOR / "GM0344" / "2025-02" / "locations.csv"
    original = target.read_bytes()
    target.write_bytes(original + b"tampered\n")
    warehouse = story["exports"].parents[2] / "warehouse.duckdb"
    said = _anpr(
        "export", "--vendor", VENDOR, "--month", "2025-02", "--vendors", str(warehouse.parent / "vendors.yml"),
        "--out", str(out), "--warehouse", str(warehouse),
    ).stderr  # fmt: skip
    assert "GM0344 2025-02: written (damaged)" in said
    assert target.read_bytes() == original


def test_second_report_rebuilds_no_page_and_says_so(story):
    assert "rebuilt 10 pages" in story["runs"]["april1"]
    assert "rebuilt 0 pages; kept 10 unchanged" in story["runs"]["april2"]
    april = _site(story["files"]["report1"], "2025-04")
    assert "compare.html" in april and "charts/trend_logistics.vl.json" in april
    assert _changed(april, _site(story["files"]["report2"], "2025-04")) == set()  # same bytes, same mtimes


def test_report_rebuilds_only_the_pages_whose_inputs_changed(story):
    """February after a March correction and a new municipality: only the comparison (it now shows Amsterdam) is new."""
    said = story["runs"]["february3"]
    assert "rebuilt 1 pages: compare; kept 9 unchanged" in said
    before, after = _site(story["files"]["report1"], "2025-02"), _site(story["files"]["report3"], "2025-02")
    changed = _changed(before, after)
    assert "compare.html" in changed and "Amsterdam" in (story["report"] / "2025-02" / "compare.html").read_text()
    assert {f"{page}.html" for page in (*MONTH_PAGES, "trend", "index")} <= before.keys()
    assert not {f"{page}.html" for page in (*MONTH_PAGES, "trend", "index")} & changed
    assert {n for n in changed if n.startswith("charts/")} <= {n for n in before if n.startswith("charts/compare_")}


def test_year_view_shows_a_correction_inside_its_window(story):
    """April's year view is fingerprinted by what it shows: March corrected (+6 % at one camera) must rebuild it.

    Only March's numbers changed, so the year view's data file changing says the corrected month reached the page.
    """
    said = story["runs"]["april3"]
    assert "report GM0344 2025-04" in said and "trend" not in said.split("kept", 1)[-1]
    before, after = _site(story["files"]["report2"], "2025-04"), _site(story["files"]["report3"], "2025-04")
    assert {"trend.html", "charts/trend_logistics.data.json"} <= _changed(before, after)
