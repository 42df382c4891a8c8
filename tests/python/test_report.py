"""The report in a real browser: every page renders offline, charts have marks, headlines equal the metric layer.

The fixture warehouse holds Utrecht (February and March) and Amsterdam (February in the legacy layout, March),
so the year view has two months, the comparison two municipalities and a legacy month an empty ZE page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.docs_site import build_docs
from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.report import build_report
from anpr_warehouse.report.charts import CONFIG, line_chart
from anpr_warehouse.standard_questions import month_filter

from .cli_support import load_and_build

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PAGES = (
    "index",
    "overview",
    "trend",
    "compare",
    "time_profile",
    "vehicle_mix",
    "ze_access",
    "sectors",
    "origin",
    "visit_frequency",
    "locations",
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    warehouse = out / "warehouse.duckdb"
    requests = [
        GenerateRequest(municipality, 2025, month, layout=layout, seed=11, locations=6)
        for municipality, month, layout in (
            ("GM0344", 2, "v1"),
            ("GM0344", 3, "v1"),
            ("GM0363", 2, "legacy"),
            ("GM0363", 3, "v1"),
        )
    ]
    load_and_build(warehouse, (generate_delivery(r, out / "deliveries") for r in requests))
    layer = MetricLayer(warehouse)
    docs = build_docs(warehouse, out / "docs")
    index = build_report(warehouse, "GM0344", out / "site", month="2025-03", layer=layer, docs=docs)
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
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / ('profile-' + page.stem)}",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={netlog}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
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
    result = layer.query(
        ["logistics_passages", "passages", "logistics_zero_emission_share", "logistics_passages_change_vs_previous_month"],
        ["metric_time__month"],
        month_filter("GM0344", "2025-03-01"),
    )
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
        proc = subprocess.run(
            [
                _chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp_path / ('shot-' + name)}",
                "--window-size=1280,1400",
                f"--screenshot={shot}",
                (folder / f"{name}.html").as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
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


def _table(dom: str, chart: str) -> list[tuple[dict[str, str], str, str]]:
    """Rows of a chart's data table in the DOM: (row attributes, data-value, data-complete) of the value cell."""
    body = re.search(rf'<table data-chart="{chart}">(.*?)</table>', dom, re.S)
    assert body, f"no data table for {chart}"
    rows = []
    for attributes, cells in re.findall(r"<tr((?: data-[a-z-]+=\"[^\"]*\")*)>(.*?)</tr>", body.group(1), re.S):
        value = re.search(r'data-value="([^"]*)" data-complete="(true|false)"', cells)
        if value:
            rows.append((dict(re.findall(r'data-([a-z-]+)="([^"]*)"', attributes)), value.group(1), value.group(2)))
    return rows


def test_year_view_numbers_equal_the_metric_layer(site, tmp_path):
    folder, layer = site
    dom, _, _ = _open(folder / "trend.html", tmp_path)
    window = [
        "{{ Entity('municipality') }} = 'GM0344'",
        "{{ TimeDimension('metric_time', 'month') }} >= '2025-02-01'",
        "{{ TimeDimension('metric_time', 'month') }} <= '2025-03-01'",
    ]
    months = layer.query(["logistics_passages", "logistics_zero_emission_share"], ["metric_time__month"], window)
    expected = {str(r["metric_time__month"])[:10]: r for r in months.rows}
    for chart, metric in (("trend_logistics", "logistics_passages"), ("trend_zero_emission", "logistics_zero_emission_share")):
        shown = _table(dom, chart)
        assert [a["month-start"] for a, _, _ in shown] == ["2025-02-01", "2025-03-01"]
        for attributes, value, complete in shown:
            want = expected[attributes["month-start"]][metric]
            assert float(value) == pytest.approx(want.value) and complete == str(want.complete).lower()
    vehicles = layer.query(["unique_vehicles"], ["zone", "metric_time__month"], window)
    shown = {(a["month-start"], a["group"]): (v, c) for a, v, c in _table(dom, "trend_unique_vehicles")}
    assert len(shown) == len(vehicles.rows) >= 4  # per zone and month, never a sum over either
    for row in vehicles.rows:
        value, complete = shown[(str(row["metric_time__month"])[:10], str(row["zone"]))]
        assert int(float(value)) == row["unique_vehicles"].value and complete == str(row["unique_vehicles"].complete).lower()
    # lower bounds are hatched as elsewhere
    assert "url(#hatch" in dom and "minstens" in dom


def test_comparison_numbers_equal_the_metric_layer_and_are_ranked(site, tmp_path):
    folder, layer = site
    dom, _, _ = _open(folder / "compare.html", tmp_path)
    where = ["{{ Entity('municipality') }} in ('GM0344', 'GM0363')", "{{ TimeDimension('metric_time', 'month') }} = '2025-03-01'"]
    result = {
        str(r["municipality"]): r
        for r in layer.query(["logistics_passages", "passages"], ["municipality", "metric_time__month"], where).rows
    }
    absolute = _table(dom, "compare_logistics_passages")
    assert [a["code"] for a, _, _ in absolute] == sorted(result, key=lambda m: -result[m]["logistics_passages"].value)  # ranked
    for attributes, value, _ in absolute:
        assert int(float(value)) == result[attributes["code"]]["logistics_passages"].value
    for attributes, value, complete in _table(dom, "compare_logistics_per_1000"):
        row = result[attributes["code"]]
        assert float(value) == pytest.approx(row["logistics_passages"].value / row["passages"].value * 1000)
        assert complete == str(row["logistics_passages"].complete and row["passages"].complete).lower()
    assert "Amsterdam: CBS-ANPR-GM0363-2025MM03-1" in dom and "minimale celwaarde 10" in dom  # CBS's notes per municipality


def test_legacy_month_says_why_its_zone_views_are_empty(site, tmp_path):
    _, layer = site
    index = build_report(layer.warehouse, "GM0363", tmp_path / "legacy", month="2025-02", layer=layer)
    page = (index.parent / "ze_access.html").read_text()
    assert "CBS leverde voor deze maand geen zonetabellen (oud leveringsformaat)." in page
    assert 'class="empty-state"' in page and "<svg" not in page  # no empty frame with a clipped title
    later = build_report(layer.warehouse, "GM0363", tmp_path / "later", month="2025-03", layer=layer)
    trend = (later.parent / "trend.html").read_text()
    assert "oud formaat: geen zonetabellen" in trend  # the year view shows the legacy month as a gap with its reason
    gap = [v for a, v, _ in _table(trend, "trend_unique_vehicles") if a["month-start"] == "2025-02-01"]
    assert gap and all(v == "" for v in gap)  # a gap, never a zero


def test_a_municipality_without_deliveries_says_so(site, tmp_path):
    _, layer = site
    index = build_report(layer.warehouse, "GM0599", tmp_path / "none", layer=layer)
    assert "Nog geen leveringen van CBS voor deze gemeente." in index.read_text()


def test_map_draws_the_municipality_outline_with_attribution(site, tmp_path):
    folder, _ = site
    spec = json.loads((folder / "charts" / "locations.vl.json").read_text())
    outline = spec["layer"][0]
    assert outline["mark"]["type"] == "geoshape" and outline["data"]["values"][0]["id"] == "GM0344"
    assert len(json.dumps(spec)) < 60_000  # only this municipality's outline is inlined, not the country
    dom, _, _ = _open(folder / "locations.html", tmp_path)
    figure = re.search(r'<figure class="chart" id="chart-locations">(.*?)</figure>', dom, re.S).group(1)
    assert 'class="mark-shape' in figure and "Bron: CBS/PDOK" in figure


def test_day_axis_never_repeats_a_date():
    """Two days of data used to give ticks every 12 hours, each labelled '01 Jul'."""
    rows = [
        {"day": "2025-07-01", "value": 10, "complete": True, "label": "10"},
        {"day": "2025-07-02", "value": 12, "complete": True, "label": "12"},
    ]
    svg = line_chart("two_days", "twee dagen", rows, "day", "value", "dag", "passages").svg()
    ticks = re.findall(r">(\d\d [A-Za-z]{3})</text>", svg)
    assert ticks and len(ticks) == len(set(ticks)) == 2, ticks


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_meet_wcag_aa(site):
    folder, _ = site
    css = (folder / "style.css").read_text()
    colour = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6})", css))
    text_pairs = [
        ("text", "page"),
        ("muted", "page"),
        ("muted", "card"),
        ("link", "page"),
        ("link", "card"),
        ("text", "empty-bg"),
        ("header-text", "header"),
        ("nav-link", "header"),
    ]
    for fg, bg in text_pairs:
        assert contrast(colour[fg], colour[bg]) >= 4.5, (fg, bg)
    for ring, bg in (("focus", "page"), ("focus", "card"), ("focus-on-dark", "header")):  # non-text contrast of the focus ring
        assert contrast(colour[ring], colour[bg]) >= 3, (ring, bg)
    for key in ("labelColor", "titleColor"):
        assert contrast(CONFIG["axis"][key], "#ffffff") >= 4.5 and contrast(CONFIG["legend"][key], "#ffffff") >= 4.5
    assert contrast(CONFIG["title"]["color"], "#ffffff") >= 4.5


def test_keyboard_navigation_and_text_alternatives(site):
    folder, _ = site
    html = (folder / "trend.html").read_text()
    body = html[html.index("<body>") :]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'class="skip" href="#main"' in first_link and '<main id="main"' in html
    nav = re.search(r"<nav [^>]*>(.*?)</nav>", html, re.S).group(1)
    assert nav.strip().startswith("<ul>") and nav.count("<li>") >= 11 and 'aria-current="page"' in nav
    assert ":focus-visible" in (folder / "style.css").read_text()
    assert html.count('<details class="data-table">') == html.count('<figure class="chart" id=') == 4  # every chart has its table


def test_page_prints_to_a4(site, tmp_path):
    folder, _ = site
    pdf = tmp_path / "trend.pdf"
    proc = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'print'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            (folder / "trend.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
    boxes = set(re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes()))
    assert boxes and all(abs(float(w) - 595) < 1 and abs(float(h) - 842) < 1 for w, h in boxes)  # A4 portrait, as @page asks
    css = (folder / "style.css").read_text()
    assert "@page { size: A4" in css and re.search(
        r"@media print \{.*\.skip, nav,[^}]*display: none", css, re.S
    )  # nav not printed


def test_vendor_report_shows_only_its_municipalities(site, tmp_path):
    _, layer = site
    vendors = tmp_path / "vendors.yml"
    vendors.write_text("vendors:\n  only0344:\n    municipalities: [GM0344]\n", encoding="utf-8")
    warehouse = layer.warehouse  # this process holds the DuckDB file; the report reads the published snapshot
    base = [
        sys.executable,
        "-m",
        "anpr_warehouse.cli",
        "report",
        "--warehouse",
        str(warehouse),
        "--vendors",
        str(vendors),
        "--vendor",
        "only0344",
        "--out",
        str(tmp_path / "out"),
    ]
    refused = subprocess.run([*base, "--municipality", "GM0363"], capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "not entitled to GM0363" in refused.stderr and not (tmp_path / "out").exists()
    done = subprocess.run(base, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    compare = (tmp_path / "out" / "GM0344" / "2025-03" / "compare.html").read_text()
    assert 'data-code="GM0344"' in compare and "GM0363" not in compare and "Amsterdam" not in compare


def test_docs_site_is_offline_and_linked_from_the_report(site, tmp_path):
    folder, _ = site
    index = (folder / "index.html").read_text()
    link = re.search(r'<a href="([^"]+)">Documentatie \(dbt\)</a>', index).group(1)
    docs = (folder / link).resolve()
    assert not link.startswith(("/", "http")) and docs.name == "index.html" and docs.exists()
    html = docs.read_text()
    assert "fuzzed.getdbt.com" not in html and "minimal dataset" in html and "fct_passages_hourly" in html
    dom, _, urls = _open(docs, tmp_path)
    leaving = [u for u in urls if not u.startswith(("file:", "data:", "chrome:", "about:"))]
    assert not leaving, f"docs requested {leaving}"
    assert "dbt" in dom and len(dom) > 100_000
