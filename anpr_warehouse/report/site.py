"""`anpr report`: the standard visualisations as a static, offline site (one page per view).

No server and no network: charts are inline SVG rendered by vl-convert, styles
are a local file, and every Vega-Lite spec is written next to its data so a
vendor can reuse it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..errors import UserError
from ..metrics import MetricLayer
from .english import MONTHS_EN, translator
from .pages import ReportData, build_pages, latest_month

TEMPLATES = Path(__file__).parent / "templates"
MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"]


def build_report(warehouse: Path, municipality: str, out: Path, month: str | None = None, lang: str = "nl",
                 layer: MetricLayer | None = None) -> Path:
    """Writes the site for one municipality and month; returns the index page."""
    layer = layer or MetricLayer(warehouse)
    con = duckdb.connect(str(warehouse))  # same configuration as the metric layer's connection
    try:
        month_start = f"{month}-01" if month else latest_month(con, municipality)
        if not month_start:
            raise UserError(f"no data for {municipality} in {warehouse}")
        available = {r[0].isoformat() for r in con.execute(
            "select distinct month_start from marts.fct_passages_hourly where municipality_code = ?", [municipality]).fetchall()}
        if month_start not in available:
            raise UserError(f"{municipality} has no data for {month_start[:7]} (available: {', '.join(sorted(a[:7] for a in available))})")
        name = con.execute("select municipality_name from marts.dim_municipality where municipality_code = ?", [municipality]).fetchone()
        deliveries = [r[0] for r in con.execute(
            "select delivery_id from staging.stg_cbs__deliveries where municipality_code = ? and period_start = ? and is_flowing",
            [municipality, month_start]).fetchall()]
        data = ReportData(layer, con, municipality, month_start, lang)
        pages = build_pages(data)
    finally:
        con.close()
    site = out / municipality / month_start[:7]
    shutil.rmtree(site, ignore_errors=True)
    (site / "charts").mkdir(parents=True)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    months = MONTHS_EN if lang == "en" else MONTHS_NL
    context = {
        "lang": lang, "municipality_name": name[0] if name else municipality, "deliveries": deliveries, "nav": pages,
        "month_label": f"{months[int(month_start[5:7]) - 1]} {month_start[:4]}", "t": translator(lang),
    }
    for page in pages:
        page.rendered = {chart.name: chart.write(site / "charts") for chart in page.charts}
        html = env.get_template("page.html").render(page=page, slug=page.slug, page_title=page.title, **context)
        (site / f"{page.slug}.html").write_text(html, encoding="utf-8")
    (site / "index.html").write_text(env.get_template("index.html").render(slug="index", page_title="Start", **context), encoding="utf-8")
    shutil.copy(TEMPLATES / "style.css", site / "style.css")
    print(f"report {municipality} {month_start[:7]}: {site / 'index.html'}", file=sys.stderr)
    return site / "index.html"
