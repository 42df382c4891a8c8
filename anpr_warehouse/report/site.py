"""`anpr report`: the standard visualisations as a static, offline site (one page per view).

No server and no network: charts are inline SVG rendered by vl-convert, styles
are a local file, and every Vega-Lite spec is written next to its data so a
vendor can reuse it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import step_times
from ..errors import UserError
from ..metrics import MetricLayer
from ..reading import connect, reading_layer
from .inputs import SiteRecord, common_fingerprint, file_sha256, page_fingerprints
from .language import texts
from .pages import MONTHS_FACT, ReportData, build_pages, latest_month, page_builders, shown_inputs

TEMPLATES = Path(__file__).parent / "templates"


def warehouse_municipalities(warehouse: Path, read_only: bool = False) -> list[str]:
    """Every municipality with loaded data: what the analyst view (no vendor) may compare."""
    # same configuration as the metric layer's connection (DuckDB refuses a second one)
    con = duckdb.connect(str(warehouse), read_only=read_only)
    try:
        return [r[0] for r in con.execute(f"select distinct municipality_code from marts.{MONTHS_FACT} order by 1").fetchall()]
    finally:
        con.close()


def build_report(
    warehouse: Path,
    municipality: str,
    out: Path,
    month: str | None = None,
    lang: str = "nl",
    layer: MetricLayer | None = None,
    visible: list[str] | None = None,
    docs: Path | None = None,
) -> Path:
    """Writes the site for one municipality and month; returns the index page.

    `visible`: the municipalities the reader may see on compare.html (a vendor's entitlements; default every
    municipality in the warehouse). `docs`: the dbt docs page to link to (relative), if it was built.
    """
    layer = layer or reading_layer(warehouse)
    visible = visible if visible is not None else warehouse_municipalities(warehouse, layer.read_only)
    con = connect(layer)  # same configuration as the metric layer's connection
    try:
        name = con.execute(
            "select municipality_name from marts.dim_municipality where municipality_code = ?", [municipality]
        ).fetchone()
        if name is None:
            raise UserError(_unknown_municipality(con, municipality))
        month_start = f"{month}-01" if month else latest_month(con, municipality)
        if not month_start:
            con.close()
            return _no_deliveries(warehouse, municipality, out, lang)
        available = {
            r[0].isoformat()
            for r in con.execute(
                f"select distinct month_start from marts.{MONTHS_FACT} where municipality_code = ?", [municipality]
            ).fetchall()
        }
        if month_start not in available:
            raise UserError(
                f"{municipality} has no data for {month_start[:7]} (available: {', '.join(sorted(a[:7] for a in available))})"
            )
        deliveries = [
            r[0]
            for r in con.execute(
                "select delivery_id from marts.dim_delivery where municipality_code = ? and month_start = ? and is_flowing",
                [municipality, month_start],
            ).fetchall()
        ]
        site = out / municipality / month_start[:7]
        t = texts(lang)
        months = t.list("calendar.months")
        context = {
            "lang": lang,
            "municipality_name": name[0],
            "deliveries": deliveries,
            "month_label": f"{months[int(month_start[5:7]) - 1]} {month_start[:4]}",
            "t": t,
            "docs_href": Path(os.path.relpath(docs, site)).as_posix() if docs and docs.exists() else None,
        }
        visible = visible or [municipality]
        record = SiteRecord.read(site)
        common = common_fingerprint(layer, context)
        if record.common != common or not record.intact(site, "index"):
            record = SiteRecord(common)  # code, definitions, language or header changed: every page anew
            shutil.rmtree(site, ignore_errors=True)
        slugs = list(page_builders())
        data = ReportData(layer, con, municipality, month_start, lang, visible)
        with step_times.timed("report_fingerprints_s"):
            fingerprints = page_fingerprints(con, layer, municipality, month_start, slugs, shown_inputs(data))
        stale = [s for s in slugs if record.pages.get(s) != fingerprints[s] or not record.intact(site, s)]
        with step_times.timed("report_pages_s"):
            pages = build_pages(data, only=stale)
    finally:
        con.close()
    (site / "charts").mkdir(parents=True, exist_ok=True)
    env = _environment()
    built = {page.slug: page for page in pages}
    record.nav = [
        {"slug": s, "title": built[s].title, "intro": built[s].intro} if s in built else entry
        for s, entry in zip(slugs, record.nav or [{}] * len(slugs))
    ]
    context["nav"] = record.nav
    for page in pages:
        with step_times.timed("report_charts_s"):
            page.rendered = {chart.name: chart.write(site / "charts") for chart in page.charts}
        html = env.get_template("page.html").render(page=page, slug=page.slug, page_title=page.title, **context)
        (site / f"{page.slug}.html").write_text(html, encoding="utf-8")
        files = [f"{page.slug}.html"] + [f"charts/{c.name}.{kind}.json" for c in page.charts for kind in ("vl", "data")]
        record.pages[page.slug], record.files[page.slug] = fingerprints[page.slug], {f: file_sha256(site / f) for f in files}
    if "index" not in record.files:
        (site / "index.html").write_text(
            env.get_template("index.html").render(slug="index", page_title=t("site.start"), **context), encoding="utf-8"
        )
        shutil.copy(TEMPLATES / "style.css", site / "style.css")
        record.files["index"] = {f: file_sha256(site / f) for f in ("index.html", "style.css")}
    record.write(site)
    step_times.emit_if_asked()
    kept = [s for s in slugs if s not in built]
    print(
        f"report {municipality} {month_start[:7]}: {site / 'index.html'} (rebuilt {len(built)} pages"
        + (f": {', '.join(built)}" if built and kept else "")
        + (f"; kept {len(kept)} unchanged: {', '.join(kept)}" if kept else "")
        + ")",
        file=sys.stderr,
    )
    return site / "index.html"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _unknown_municipality(con: duckdb.DuckDBPyConnection, code: str) -> str:
    """Why a code is no municipality, with the codes it may have meant: a typo must not become an empty report."""
    known = [r[0] for r in con.execute("select municipality_code from marts.dim_municipality").fetchall()]
    close = [k for k in known if k.upper() == code.strip().upper()]  # near-miss digits would be another municipality
    hint = f"; did you mean {', '.join(close)}?" if close else "; codes are CBS's, e.g. GM0344 (Utrecht)"
    return f"unknown municipality {code!r}{hint}"


def _no_deliveries(warehouse: Path, municipality: str, out: Path, lang: str) -> Path:
    """A municipality without any delivery yet gets a start page that says so, not an error or empty charts."""
    t = texts(lang)
    site = out / municipality / "none"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    context = {
        "lang": lang,
        "municipality_name": municipality,
        "deliveries": [],
        "nav": [],
        "month_label": "",
        "t": t,
        "docs_href": None,
        "empty": t("empty.no_deliveries"),
    }
    (site / "index.html").write_text(
        _environment().get_template("index.html").render(slug="index", page_title=t("site.start"), **context), encoding="utf-8"
    )
    shutil.copy(TEMPLATES / "style.css", site / "style.css")
    print(f"report {municipality}: no deliveries yet ({warehouse})", file=sys.stderr)
    return site / "index.html"
