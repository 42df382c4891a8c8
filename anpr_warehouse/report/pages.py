"""What each page of the municipal report shows, asked of the metric layer only.

Numbers come from `MetricLayer` (the same path as exports and analysts); labels
come from the code-list seeds (the dim_ marts), and so does which zone is the
ZE zone (`dim_zone.is_zero_emission_zone`), which vehicle categories are
logistics (`dim_vehicle_category.is_logistics`) and which the ZE rules regulate
(`is_ze_regulated`): no zone suffix or category list is written here. Page texts come from texts/<lang>.yaml by id (language.py). A
value with confidential CBS cells inside is shown as a lower bound
("minstens ...") and hatched in charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import duckdb

from ..metrics import MetricLayer, MetricResult, MetricValue
from ..question_batch import answers as ask_all
from .boundary import ATTRIBUTION, municipality_outline
from .charts import Chart, bar_chart, heatmap, line_chart, map_chart, stacked_share_chart
from .geometry import convex_hull
from .language import texts

# (group-by name, dim mart, code column, display order) of the code lists the charts label
CODE_DIMENSIONS = (
    ("vehicle_category", "dim_vehicle_category", "vehicle_category_code", "sort_order"),
    ("fuel_type", "dim_fuel_type", "fuel_type_code", "sort_order"),
    ("emission_class", "dim_emission_class", "emission_class_code", "sort_order"),
    ("sbi_section", "dim_sbi_section", "sbi_section_code", "sort_order"),
    ("owner_region", "dim_owner_region", "owner_region_code", "sort_order"),
    ("visit_day_class", "dim_visit_day_class", "visit_day_class_code", "sort_order"),
    ("first_admission_year", "dim_first_admission_year", "first_admission_year_code", "first_admission_year_code"),
)
# Which municipalities and months have data: the daily rollup of the hourly cells has the same municipality-months
# in 24x fewer rows (a distinct over the hourly fact grew the report with the size of the warehouse).
MONTHS_FACT = "fct_passages_daily"
STATUS_ORDER = ["allowed", "transition", "not_allowed", "unknown"]
STATUS_TEXT = {
    "allowed": "status.allowed",
    "transition": "status.transition",
    "not_allowed": "status.not_allowed",
    "unknown": "status.unknown",
}
# Passenger cars: the time profile shows them beside the logistics categories as the reference the reader
# compares with (no dimension flag says "reference"; it is this page's choice, not a code list's).
REFERENCE_CATEGORY = "PERS"
STATUS_COLOURS = ["#2f855a", "#d69e2e", "#c53030", "#a0aec0"]


@dataclass(frozen=True)
class Bars:
    """One bar chart of a standard question: which answer, which code list labels the bars, which metric, how drawn.

    The bar charts of the monthly pages differ only in these fields, so they are rows of a table (BARS), not
    repeated calls.
    """

    question: str  # a standard question (MetricLayer.questions)
    dim: str  # the code list on the category axis (CODE_DIMENSIONS)
    metric: str
    title: str  # text id of the chart's title
    axis: str  # text id of the category axis
    value_axis: str = "axis.passages"
    horizontal: bool = False
    ze_zone: bool = True  # per-zone answer: only the ZE zone's rows (dim_zone's flag)
    order: str = "code_list"  # code_list | largest_first | year (by code, without the "year unknown" code)


# chart name -> its bars, in page order (the table is the list of the monthly pages' bar charts)
# fmt: off
BARS = {
    "mix_category":        Bars("vehicle_mix_category",        "vehicle_category",     "category_passages",        "page.vehicle_mix.chart_category",        "axis.category",             horizontal=True, ze_zone=False),
    "mix_fuel":            Bars("vehicle_mix_fuel",            "fuel_type",            "fuel_passages",            "page.vehicle_mix.chart_fuel",            "axis.fuel",                 horizontal=True, ze_zone=False),
    "mix_emission":        Bars("vehicle_mix_emission",        "emission_class",       "emission_class_passages",  "page.vehicle_mix.chart_emission",        "axis.emission_class"),
    "mix_first_admission": Bars("vehicle_mix_first_admission", "first_admission_year", "first_admission_passages", "page.vehicle_mix.chart_first_admission", "axis.first_admission_year", order="year"),
    "sectors":             Bars("sectors",                     "sbi_section",          "sector_passages",          "page.sectors.chart",                     "axis.section",              horizontal=True, order="largest_first"),
    "origin":              Bars("origin",                      "owner_region",         "origin_passages",          "page.origin.chart",                      "axis.origin",               horizontal=True),
    "visit_frequency":     Bars("visit_frequency",             "visit_day_class",      "visit_class_vehicles",     "page.visit_frequency.chart",             "axis.days_in_month",        "axis.unique_vehicles"),
}
# fmt: on


@dataclass
class Kpi:
    label: str
    metric: str
    value: MetricValue
    text: str
    kind: str = "count"


@dataclass
class Page:
    slug: str
    title: str
    intro: str
    kpis: list[Kpi] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict)  # chart name -> SVG, filled when the site is written


def fmt_number(value: float | int | None, kind: str = "count") -> str:
    if value is None:
        return ""
    if kind == "share":
        return f"{value * 100:.1f}%".replace(".", ",")
    if kind == "change":
        return f"{value * 100:+.1f}%".replace(".", ",")
    if kind == "rate":
        return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{int(round(value)):,}".replace(",", ".")


def result_json(result: MetricResult) -> list[dict]:
    """An answer's rows as plain JSON: what a page fingerprinted by what it shows hashes."""
    return [{k: v.as_json() if isinstance(v, MetricValue) else str(v) for k, v in row.items()} for row in result.rows]


def fmt_value(value: MetricValue, kind: str, lang: str) -> str:
    t = texts(lang)
    if value.value is None:
        return t("value.unknown") if not value.complete else t("value.none")
    number = fmt_number(value.value, kind)
    if value.complete:
        return number
    # a sum with hidden cells is a lower bound; a change between two lower bounds is only approximate
    return f"{t('value.about') if kind in ('change', 'rate', 'share') else t('value.at_least')} {number}"


class ReportData:
    """Queries for one municipality and month, with labels in the chosen language."""

    def __init__(
        self,
        layer: MetricLayer,
        con: duckdb.DuckDBPyConnection,
        municipality: str,
        month_start: str,
        lang: str,
        visible: list[str] | None = None,
    ):
        self.layer, self.con, self.municipality, self.month, self.lang = layer, con, municipality, month_start, lang
        self.visible = visible or [municipality]  # the municipalities this reader may see (compare.html)
        self._answers: dict[str, MetricResult] | None = None
        self.memo: dict = {}  # inputs a page reads once for its fingerprint and its content (compare, trend)
        layouts = [
            r[0]
            for r in con.execute(
                "select layout from raw.cbs_deliveries where municipality_code = ? and period_start = ? and status = 'current'",
                [municipality, month_start],
            ).fetchall()
        ]
        self.legacy = "legacy" in layouts
        self.t = texts(lang)
        # which zones are ZE zones and which categories the ZE rules regulate: flags of the dimensions, not codes
        self.ze_zones = {r[0] for r in con.execute("select zone_code from marts.dim_zone where is_zero_emission_zone").fetchall()}
        self.ze_categories = self._categories("is_ze_regulated")
        self.logistics_categories = self._categories("is_logistics")
        # the code for "year of first admission unknown": the one without a year (not drawn on a year axis)
        unknown_year = "select first_admission_year_code from marts.dim_first_admission_year where first_admission_year is null"
        self.unknown_first_admission = {r[0] for r in con.execute(unknown_year).fetchall()}
        title = "title_nl" if lang == "nl" else "title_en"
        self.labels: dict[str, dict[str, str]] = {}
        self.order: dict[str, list[str]] = {}
        for dim, table, key, sort in CODE_DIMENSIONS:  # one query per code list: labels and display order
            rows = con.execute(f"select {key}, {title} from marts.{table} order by {sort}").fetchall()
            self.labels[dim], self.order[dim] = dict(rows), [code for code, _ in rows]

    def _categories(self, flag: str) -> list[str]:
        """Vehicle categories with a flag of dim_vehicle_category set, in display order."""
        query = f"select vehicle_category_code from marts.dim_vehicle_category where {flag} order by sort_order"
        return [r[0] for r in self.con.execute(query).fetchall()]

    def ask(self, name: str) -> MetricResult:
        """A standard question's answer; the first ask answers them all, one metric-layer query per shape."""
        if self._answers is None:
            self._answers = ask_all(self.layer, self.layer.questions, self.municipality, self.month)
        return self._answers[name]

    def kpi(self, label: str, metric: str, result: MetricResult, kind: str = "count", row: dict | None = None) -> Kpi:
        row = row or (result.rows[0] if result.rows else None)
        value = row[metric] if row else MetricValue(None, 0, True)
        return Kpi(label, metric, value, fmt_value(value, kind, self.lang), kind)

    def zone_share_kpis(self, question: str, kpis: tuple[tuple[str, str], ...]) -> list[Kpi]:
        """Share KPIs of the ZE zone's row of one question's answer, (text id, metric) each; none for an empty answer."""
        answer = self.ask(question)
        rows = self.zone_rows(answer)
        return [self.kpi(self.t(text), metric, answer, "share", rows[0]) for text, metric in kpis] if rows else []

    def empty_reason(self) -> str:
        """Why a chart of this month has nothing to draw."""
        return self.t("empty.legacy") if self.legacy else self.t("empty.no_data")

    def zone_rows(self, result: MetricResult) -> list[dict]:
        """The rows of the ZE zone (dim_zone's flag); all rows if the answer has none (e.g. a legacy month)."""
        return [r for r in result.rows if str(r.get("zone", "")) in self.ze_zones] or result.rows

    def ze_zone_result(self, result: MetricResult) -> MetricResult:
        return MetricResult(result.group_by, result.metrics, self.zone_rows(result))

    def bar_rows(self, result: MetricResult, dim: str, metric: str, kind: str = "count") -> list[dict]:
        labels = self.labels.get(dim, {})
        rows = []
        for row in result.rows:
            value = row[metric]
            code = str(row[dim])
            rows.append(
                {
                    "code": code,
                    "category": labels.get(code, code),
                    "value": value.value or 0,
                    "complete": value.complete,
                    "confidential_cells": value.confidential_cells,
                    "label": fmt_value(value, kind, self.lang),
                }
            )
        order = self.order.get(dim)
        if order:
            rows.sort(key=lambda r: order.index(r["code"]) if r["code"] in order else len(order))
        return rows

    def bars(self, name: str) -> Chart:
        """The bar chart BARS names, from its question's answer."""
        spec = BARS[name]
        result = self.ask(spec.question)
        rows = self.bar_rows(self.ze_zone_result(result) if spec.ze_zone else result, spec.dim, spec.metric)
        if spec.order == "year":
            rows = sorted((r for r in rows if r["code"] not in self.unknown_first_admission), key=lambda r: r["code"])
        elif spec.order == "largest_first":
            rows = sorted(rows, key=lambda r: -r["value"])
        return bar_chart(
            name,
            self.t(spec.title),
            rows,
            "category",
            "value",
            self.t(spec.axis),
            self.t(spec.value_axis),
            horizontal=spec.horizontal,
            sort=[r["category"] for r in rows] if spec.order == "largest_first" else None,
        )


def page_builders() -> dict[str, Callable[[ReportData], Page]]:
    """slug -> the function that builds that page, in navigation order (the one list of the report's pages)."""
    from .compare import compare
    from .trend import trend

    return {
        "overview": overview,
        "trend": trend,
        "compare": lambda data: compare(data, data.visible),
        "time_profile": time_profile,
        "vehicle_mix": vehicle_mix,
        "ze_access": ze_access,
        "sectors": sectors,
        "origin": origin,
        "visit_frequency": visits,
        "locations": locations,
    }


def shown_inputs(data: ReportData) -> dict[str, dict]:
    """slug -> what the page shows, as JSON, for the pages fingerprinted by their content (report/inputs.py)."""
    from .compare import comparison
    from .trend import year_inputs

    return {
        "trend": year_inputs(data).as_json(),
        "compare": {"visible": data.visible, **comparison(data, data.visible).as_json()},
    }


def build_pages(data: ReportData, only: Collection[str] | None = None) -> list[Page]:
    """The pages (only those named in `only`, if given: the others' inputs did not change)."""
    pages = [build(data) for slug, build in page_builders().items() if only is None or slug in only]
    for chart in (chart for page in pages for chart in page.charts):
        if not chart.rows or all(r.get("value", 0) is None for r in chart.rows):
            chart.empty = data.empty_reason()
    return pages


def overview(data: ReportData) -> Page:
    t = data.t
    page = Page("overview", t("page.overview.title"), t("page.overview.intro"))
    month = data.ask("overview_month")
    page.kpis += [
        data.kpi(t("page.overview.kpi_logistics_passages"), "logistics_passages", month),
        data.kpi(t("page.overview.kpi_change"), "logistics_passages_change_vs_previous_month", month, "change"),
        data.kpi(t("page.overview.kpi_zero_emission_share"), "logistics_zero_emission_share", month, "share"),
        data.kpi(t("page.overview.kpi_all_passages"), "passages", month),
    ]
    zones = data.ask("zone_overview")
    for row in zones.rows:
        page.kpis.append(
            data.kpi(f"{t('page.overview.kpi_unique_vehicles_zone')} {row['zone']}", "unique_vehicles", zones, row=row)
        )
    days = data.ask("overview_day")
    rows = [
        {
            "day": str(r["metric_time__day"])[:10],
            "value": r["logistics_passages"].value,
            "complete": r["logistics_passages"].complete,
            "label": fmt_value(r["logistics_passages"], "count", data.lang),
        }
        for r in days.rows
    ]
    page.charts.append(
        line_chart("logistics_per_day", t("page.overview.chart_per_day"), rows, "day", "value", t("axis.day"), t("axis.passages"))
    )
    page.notes.append(t("page.overview.note_unique_vehicles"))
    return page


def time_profile(data: ReportData) -> Page:
    t = data.t
    page = Page("time_profile", t("page.time_profile.title"), t("page.time_profile.intro"))
    result = data.ask("time_profile")
    labels = data.labels["vehicle_category"]
    shown = [*data.logistics_categories, REFERENCE_CATEGORY]
    days = t.list("calendar.weekdays")
    rows = [
        {
            "category": labels.get(str(r["vehicle_category"]), r["vehicle_category"]),
            "day": days[int(r["passage_hourly__day_of_week"]) - 1],
            "hour": int(r["passage_hourly__hour_of_day"]),
            "passages": r["category_passages"].value or 0,
            "complete": r["category_passages"].complete,
            "label": fmt_value(r["category_passages"], "count", data.lang),
        }
        for r in result.rows
        if str(r["vehicle_category"]) in shown
    ]
    order = [labels[c] for c in shown]
    page.charts.append(heatmap("time_profile", t("page.time_profile.chart"), rows, order, days, t))
    page.notes.append(t("page.time_profile.note_dot"))
    return page


def vehicle_mix(data: ReportData) -> Page:
    t = data.t
    page = Page("vehicle_mix", t("page.vehicle_mix.title"), t("page.vehicle_mix.intro"))
    page.charts += [data.bars(name) for name in ("mix_category", "mix_fuel", "mix_emission", "mix_first_admission")]
    return page


def ze_access(data: ReportData) -> Page:
    t = data.t
    page = Page("ze_access", t("page.ze_access.title"), t("page.ze_access.intro"))
    page.kpis += data.zone_share_kpis(
        "ze_access",
        (
            ("page.ze_access.kpi_allowed", "ze_allowed_share"),
            ("page.ze_access.kpi_transition", "ze_transition_share"),
            ("page.ze_access.kpi_not_allowed", "ze_not_allowed_share"),
            ("page.ze_access.kpi_not_allowed_next", "ze_not_allowed_share_next"),
        ),
    )
    by_category = data.ask("ze_access_by_category")
    labels = data.labels["vehicle_category"]
    status_label = {status: t(STATUS_TEXT[status]) for status in STATUS_ORDER}
    rows = []
    for row in data.zone_rows(by_category):
        category = str(row["vehicle_category"])
        if category not in data.ze_categories:
            continue
        for suffix, when in (("", "1" + t("page.ze_access.now")), ("_next", "2" + t("page.ze_access.after_change"))):
            total = row[f"ze_total_passages{suffix}"].value
            for order, status in enumerate(STATUS_ORDER):
                value = row[f"ze_{status}_passages{suffix}"]
                if total and value.value:
                    rows.append(
                        {
                            "group": f"{labels.get(category, category)} ({when[1:]})",
                            "sort": f"{category}{when[0]}",
                            "status": status_label[status],
                            "order": order,
                            "share": value.value / total,
                            "complete": value.complete and row[f"ze_total_passages{suffix}"].complete,
                            "label": fmt_value(
                                MetricValue(
                                    value.value / total,
                                    value.confidential_cells,
                                    value.complete and row[f"ze_total_passages{suffix}"].complete,
                                ),
                                "share",
                                data.lang,
                            ),
                        }
                    )
    page.charts.append(
        stacked_share_chart(
            "ze_access",
            t("page.ze_access.chart"),
            rows,
            [status_label[s] for s in STATUS_ORDER],
            STATUS_COLOURS,
            t,
        )
    )
    page.notes.append(t("page.ze_access.note_rules"))
    return page


def sectors(data: ReportData) -> Page:
    t = data.t
    page = Page("sectors", t("page.sectors.title"), t("page.sectors.intro"))
    page.charts.append(data.bars("sectors"))
    page.notes.append(t("page.sectors.note_no_emission_class"))
    return page


def origin(data: ReportData) -> Page:
    t = data.t
    page = Page("origin", t("page.origin.title"), t("page.origin.intro"))
    page.kpis += data.zone_share_kpis(
        "origin_shares",
        (("page.origin.kpi_own_municipality", "own_municipality_share"), ("page.origin.kpi_abroad", "abroad_share")),
    )
    page.charts.append(data.bars("origin"))
    return page


def visits(data: ReportData) -> Page:
    t = data.t
    page = Page("visit_frequency", t("page.visit_frequency.title"), t("page.visit_frequency.intro"))
    page.kpis += data.zone_share_kpis("visit_frequency_share", (("page.visit_frequency.kpi_frequent", "frequent_visitor_share"),))
    page.charts.append(data.bars("visit_frequency"))
    page.notes.append(t("page.visit_frequency.note_vehicles_not_passages"))
    return page


def locations(data: ReportData) -> Page:
    t = data.t
    page = Page("locations", t("page.locations.title"), t("page.locations.intro"))
    figures = {r["location"]: r for r in data.ask("locations").rows}
    ze = {r["location"]: r["zero_emission_share"] for r in data.ask("locations_zero_emission").rows}
    sites = data.con.execute(
        "select location_code, location_name, zone_code, direction_code, latitude, longitude from marts.dim_location where municipality_code = ? order by 1",
        [data.municipality],
    ).fetchall()
    points, zone_points = [], []
    for code, name, zone, _direction, lat, lon in sites:
        passages = figures.get(code, {}).get("passages", MetricValue(None, 0, True))
        share = ze.get(code, MetricValue(None, 0, True))
        points.append(
            {
                "code": code,
                "name": name,
                "zone": zone or "",
                "lat": lat,
                "lon": lon,
                "passages": passages.value or 0,
                "passages_label": fmt_value(passages, "count", data.lang),
                "ze_share": share.value,
                "complete": passages.complete,
                "ze_share_label": fmt_value(share, "share", data.lang),
            }
        )
        if zone in data.ze_zones:
            zone_points.append((lon, lat))
    hull = convex_hull(zone_points)[::-1]  # clockwise: the ring orientation d3-geo (Vega) reads as the inside
    outline = (
        {
            "type": "Feature",
            "properties": {"name": t("page.locations.zone_outline")},
            "geometry": {"type": "Polygon", "coordinates": [hull + hull[:1]]},
        }
        if len(hull) >= 3
        else None
    )
    page.charts.append(
        map_chart(
            "locations", t("page.locations.chart"), points, outline, municipality_outline(data.municipality), ATTRIBUTION, t
        )
    )
    page.notes.append(t("page.locations.note_outline"))
    page.notes.append(t("page.locations.note_boundary"))
    page.kpis += [
        Kpi(f"{p['code']} {p['name']}", "passages", MetricValue(p["passages"], 0, p["complete"]), p["passages_label"])
        for p in points
    ]
    return page


def latest_month(con: duckdb.DuckDBPyConnection, municipality: str) -> str:
    row = con.execute(f"select max(month_start) from marts.{MONTHS_FACT} where municipality_code = ?", [municipality]).fetchone()
    if row[0] is None:
        return ""
    return row[0].isoformat() if isinstance(row[0], dt.date) else str(row[0])
