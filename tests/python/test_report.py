"""The report in a real browser: every page renders offline, charts have marks, headlines equal the metric layer."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import load_delivery
from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.report import build_report
from anpr_warehouse.standard_questions import month_filter

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PAGES = ("index", "overview", "time_profile", "vehicle_mix", "ze_access", "sectors", "origin", "visit_frequency", "locations")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    warehouse = out / "warehouse.duckdb"
    for month in (2, 3):
        load_delivery(generate_delivery(GenerateRequest("GM0344", 2025, month, seed=11, locations=6), out / "deliveries"), warehouse)
    proc = subprocess.run([sys.executable, "-m", "anpr_warehouse.cli", "build", "--warehouse", str(warehouse)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    layer = MetricLayer(warehouse)
    index = build_report(warehouse, "GM0344", out / "site", month="2025-03", layer=layer)
    return index.parent, layer


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed (make test installs it with apt-get)"
    return path


# Chrome's network-traffic annotations of loads a page makes (main frame and sub-resources); the browser's
# own background services (updater, network time, accounts) carry other annotations and are not the page's.
PAGE_TRAFFIC = {"101845102", "63171670"}
REQUEST = re.compile(r'"traffic_annotation":(\d+),"url":"([^"]+)"')


def page_requests(netlog_text: str) -> list[str]:
    return [url for annotation, url in REQUEST.findall(netlog_text) if annotation in PAGE_TRAFFIC]


def _open(page: Path, tmp_path: Path) -> tuple[str, str, list[str]]:
    """Loads a page headless: (DOM after load, browser log, every URL the page itself requested)."""
    netlog = tmp_path / f"{page.stem}.netlog.json"
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / ('profile-' + page.stem)}", "--enable-logging=stderr", "--v=0",
         f"--log-net-log={netlog}", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert netlog.exists(), "chromium wrote no net log"
    urls = page_requests(netlog.read_text(errors="replace"))
    return proc.stdout, proc.stderr, urls


def test_every_page_renders_offline_with_charts(site, tmp_path):
    folder, _ = site
    for name in PAGES:
        page = folder / f"{name}.html"
        html = page.read_text()
        assert "<script" not in html and "http://" not in html.replace('xmlns="http://', "").replace('xmlns:xlink="http://', "")
        dom, log, urls = _open(page, tmp_path)
        console = [line for line in log.splitlines() if "CONSOLE" in line]
        assert not console, f"{name}: console messages {console}"
        leaving = [u for u in urls if not u.startswith(("file:", "data:", "chrome:", "about:"))]
        assert not leaving, f"{name} requested {leaving}"
        if name == "index":
            continue
        figures = re.findall(r'<figure class="chart" id="chart-([^"]+)">(.*?)</figure>', dom, re.S)
        assert figures, f"{name} has no chart"
        for chart, body in figures:
            assert "<svg" in body, f"{name}/{chart}: no svg"
            marks = re.findall(r'class="mark-(?:rect|symbol|line|shape|area|text)[^"]*"', body)
            drawn = len(re.findall(r"<(?:path|rect|circle|line)\b", body))
            assert marks and drawn > 10, f"{name}/{chart}: no marks drawn"
            assert (folder / "charts" / f"{chart}.vl.json").exists() and (folder / "charts" / f"{chart}.data.json").exists()


def test_request_detector_sees_a_page_that_goes_online(tmp_path):
    """The network check above can fail: a page with one external image is caught."""
    page = tmp_path / "online.html"
    page.write_text('<html><body><img src="https://example.org/logo.png"></body></html>')
    _, _, urls = _open(page, tmp_path)
    assert "https://example.org/logo.png" in urls


def test_overview_headlines_equal_the_metric_layer(site, tmp_path):
    folder, layer = site
    dom, _, _ = _open(folder / "overview.html", tmp_path)
    shown = {m: (v, c) for m, v, c in re.findall(r'data-metric="([^"]+)" data-value="([^"]*)" data-complete="(true|false)"', dom)}
    result = layer.query(["logistics_passages", "passages", "logistics_zero_emission_share", "logistics_passages_change_vs_previous_month"],
                         ["metric_time__month"], month_filter("GM0344", "2025-03-01"))
    row = result.rows[0]
    for metric in ("logistics_passages", "passages"):
        assert int(shown[metric][0]) == row[metric].value
        assert shown[metric][1] == ("true" if row[metric].complete else "false")
    for metric in ("logistics_zero_emission_share", "logistics_passages_change_vs_previous_month"):
        assert float(shown[metric][0]) == pytest.approx(row[metric].value)
    zones = layer.query(["unique_vehicles"], ["zone", "metric_time__month"], month_filter("GM0344", "2025-03-01"))
    assert int(shown["unique_vehicles"][0]) in {r["unique_vehicles"].value for r in zones.rows}
    # incomplete numbers are visibly marked, never shown as exact
    incomplete = [m for m, (_, c) in shown.items() if c == "false"]
    assert incomplete and all(f'data-metric="{m}"' in dom for m in incomplete)
    assert "minstens" in dom


def test_screenshots_are_taken(site, tmp_path):
    folder, _ = site
    for name in ("overview", "ze_access"):
        shot = tmp_path / f"{name}.png"
        proc = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / ('shot-' + name)}", "--window-size=1280,1400",
                               f"--screenshot={shot}", (folder / f"{name}.html").as_uri()], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and shot.stat().st_size > 20_000  # a rendered page, not a blank one
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_specs_are_reusable_vega_lite(site):
    folder, _ = site
    specs = sorted((folder / "charts").glob("*.vl.json"))
    assert len(specs) >= 10
    for path in specs:
        spec = json.loads(path.read_text())
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_english_option_translates_pages_and_labels(site, tmp_path):
    folder, layer = site
    warehouse = layer.warehouse
    index = build_report(warehouse, "GM0344", tmp_path / "en", month="2025-03", lang="en", layer=layer)
    overview = (index.parent / "overview.html").read_text()
    assert "<h2>Overview</h2>" in overview and "Logistics passages" in overview and "at least" in overview
    assert "Rigid truck" in (index.parent / "vehicle_mix.html").read_text()  # labels from the seeds' English column
    assert "Logistieke passages" not in overview
