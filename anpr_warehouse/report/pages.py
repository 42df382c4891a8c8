"""What each page of the municipal report shows, asked of the metric layer only.

Numbers come from `MetricLayer` (the same path as exports and analysts); labels
come from the code-list seeds (the dim_ marts). A value with confidential CBS
cells inside is shown as a lower bound ("minstens ...") and hatched in charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import duckdb

from ..metrics import MetricLayer, MetricResult, MetricValue
from ..question_batch import answers as ask_all
from ..standard_questions import QUESTIONS
from .boundary import ATTRIBUTION, municipality_outline
from .charts import Chart, bar_chart, heatmap, line_chart, map_chart, stacked_share_chart
from .english import translate_spec, translator
from .geometry import convex_hull

TEXT = {
    "nl": {"at_least": "minstens", "about": "circa", "unknown": "onbekend", "none": "–"},
    "en": {"at_least": "at least", "about": "about", "unknown": "unknown", "none": "–"},
}
MONTH_ABBR = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
# Why a chart can be empty, in the reader's words (page.html shows this instead of an empty frame).
EMPTY_LEGACY = "CBS leverde voor deze maand geen zonetabellen (oud leveringsformaat)."
EMPTY_NO_DATA = "Geen gegevens voor deze maand."
EMPTY_NO_DELIVERIES = "Nog geen leveringen van CBS voor deze gemeente."
DAYS = {"nl": ["ma", "di", "wo", "do", "vr", "za", "zo"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}
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
STATUS_ORDER = ["allowed", "transition", "not_allowed", "unknown"]
STATUS_LABEL = {
    "nl": {"allowed": "toegestaan", "transition": "overgangsregeling", "not_allowed": "niet toegestaan", "unknown": "onbekend"},
    "en": {"allowed": "allowed", "transition": "transition rule", "not_allowed": "not allowed", "unknown": "unknown"},
}
STATUS_COLOURS = ["#2f855a", "#d69e2e", "#c53030", "#a0aec0"]


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


def fmt_value(value: MetricValue, kind: str, lang: str) -> str:
    text = TEXT[lang]
    if value.value is None:
        return text["unknown"] if not value.complete else text["none"]
    number = fmt_number(value.value, kind)
    if value.complete:
        return number
    # a sum with hidden cells is a lower bound; a change between two lower bounds is only approximate
    return f"{text['about' if kind in ('change', 'rate', 'share') else 'at_least']} {number}"


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
        layouts = [
            r[0]
            for r in con.execute(
                "select layout from raw.cbs_deliveries where municipality_code = ? and period_start = ? and status = 'current'",
                [municipality, month_start],
            ).fetchall()
        ]
        self.legacy = "legacy" in layouts
        self.t = translator(lang)
        title = "title_nl" if lang == "nl" else "title_en"
        self.labels: dict[str, dict[str, str]] = {}
        self.order: dict[str, list[str]] = {}
        for dim, table, key, sort in CODE_DIMENSIONS:  # one query per code list: labels and display order
            rows = con.execute(f"select {key}, {title} from marts.{table} order by {sort}").fetchall()
            self.labels[dim], self.order[dim] = dict(rows), [code for code, _ in rows]

    def ask(self, name: str) -> MetricResult:
        """A standard question's answer; the first ask answers them all, one metric-layer query per shape."""
        if self._answers is None:
            self._answers = ask_all(self.layer, QUESTIONS, self.municipality, self.month)
        return self._answers[name]

    def kpi(self, label: str, metric: str, result: MetricResult, kind: str = "count", row: dict | None = None) -> Kpi:
        row = row or (result.rows[0] if result.rows else None)
        value = row[metric] if row else MetricValue(None, 0, True)
        return Kpi(label, metric, value, fmt_value(value, kind, self.lang), kind)

    def empty_reason(self) -> str:
        """Why a chart of this month has nothing to draw."""
        return EMPTY_LEGACY if self.legacy else EMPTY_NO_DATA

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


def build_pages(data: ReportData, only: Collection[str] | None = None) -> list[Page]:
    """The pages (only those named in `only`, if given: the others' inputs did not change)."""
    pages = [build(data) for slug, build in page_builders().items() if only is None or slug in only]
    for page in pages:  # page texts are written in Dutch; --lang en translates them here
        page.title, page.intro, page.notes = data.t(page.title), data.t(page.intro), [data.t(n) for n in page.notes]
        for kpi in page.kpis:
            kpi.label = data.t(kpi.label)
        for chart in page.charts:
            if not chart.rows or all(r.get("value", 0) is None for r in chart.rows):
                chart.empty = data.empty_reason()
            chart.title = data.t(chart.title)
            chart.empty = data.t(chart.empty) if chart.empty else None
            chart.table = [(key, data.t(header)) for key, header in chart.table]
            translate_spec(chart.spec, data.t)
    return pages


def _zone_rows(result: MetricResult) -> list[dict]:
    return [r for r in result.rows if str(r.get("zone", "")).endswith("_Z01")] or result.rows


def overview(data: ReportData) -> Page:
    page = Page(
        "overview",
        "Overzicht",
        "Logistiek verkeer (bestelauto's, vrachtauto's en trekkers) langs de camera's, de verandering "
        "ten opzichte van de vorige maand en het aandeel zero-emissie.",
    )
    month = data.ask("overview_month")
    page.kpis += [
        data.kpi("Logistieke passages", "logistics_passages", month),
        data.kpi("Verandering t.o.v. vorige maand", "logistics_passages_change_vs_previous_month", month, "change"),
        data.kpi("Aandeel zero-emissie (logistiek)", "logistics_zero_emission_share", month, "share"),
        data.kpi("Alle passages", "passages", month),
    ]
    zones = data.ask("zone_overview")
    for row in zones.rows:
        page.kpis.append(data.kpi(f"{data.t('Unieke voertuigen zone')} {row['zone']}", "unique_vehicles", zones, row=row))
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
    page.charts.append(line_chart("logistics_per_day", "Logistieke passages per dag", rows, "day", "value", "dag", "passages"))
    page.notes.append("Unieke voertuigen telt CBS per zone en maand; ze worden nooit opgeteld over zones of maanden.")
    return page


def time_profile(data: ReportData) -> Page:
    page = Page(
        "time_profile", "Tijdprofiel", "Passages per uur en dag van de week, per voertuigcategorie (logistieke categorieën)."
    )
    result = data.ask("time_profile")
    labels = data.labels["vehicle_category"]
    rows = [
        {
            "category": labels.get(str(r["vehicle_category"]), r["vehicle_category"]),
            "day": DAYS[data.lang][int(r["passage_hourly__day_of_week"]) - 1],
            "hour": int(r["passage_hourly__hour_of_day"]),
            "passages": r["category_passages"].value or 0,
            "complete": r["category_passages"].complete,
            "label": fmt_value(r["category_passages"], "count", data.lang),
        }
        for r in result.rows
        if str(r["vehicle_category"]) in ("BEST", "VRAC", "TREK", "PERS")
    ]
    order = [labels[c] for c in ("BEST", "VRAC", "TREK", "PERS")]
    page.charts.append(heatmap("time_profile", "Passages per uur x dag van de week", rows, order, DAYS[data.lang]))
    page.notes.append("Een stip markeert een cel met geheimgehouden CBS-cellen: de waarde is een ondergrens.")
    return page


def vehicle_mix(data: ReportData) -> Page:
    page = Page(
        "vehicle_mix", "Voertuigmix", "Voertuigcategorie, brandstof, emissieklasse en bouwjaar (jaar van eerste toelating)."
    )
    category = data.ask("vehicle_mix_category")
    page.charts.append(
        bar_chart(
            "mix_category",
            "Passages per voertuigcategorie",
            data.bar_rows(category, "vehicle_category", "category_passages"),
            "category",
            "value",
            "categorie",
            "passages",
            horizontal=True,
        )
    )
    fuel = data.ask("vehicle_mix_fuel")
    page.charts.append(
        bar_chart(
            "mix_fuel",
            "Passages per brandstof",
            data.bar_rows(fuel, "fuel_type", "fuel_passages"),
            "category",
            "value",
            "brandstof",
            "passages",
            horizontal=True,
        )
    )
    emission = data.ask("vehicle_mix_emission")
    page.charts.append(
        bar_chart(
            "mix_emission",
            "Zone-inritten per emissieklasse (ZE-zone)",
            data.bar_rows(
                MetricResult(emission.group_by, emission.metrics, _zone_rows(emission)),
                "emission_class",
                "emission_class_passages",
            ),
            "category",
            "value",
            "emissieklasse",
            "passages",
        )
    )
    years = data.ask("vehicle_mix_first_admission")
    rows = data.bar_rows(
        MetricResult(years.group_by, years.metrics, _zone_rows(years)), "first_admission_year", "first_admission_passages"
    )
    rows = [r for r in rows if r["code"] != "ONBK"]
    rows.sort(key=lambda r: r["code"])
    page.charts.append(
        bar_chart(
            "mix_first_admission",
            "Zone-inritten per jaar van eerste toelating (ZE-zone)",
            rows,
            "category",
            "value",
            "jaar van eerste toelating",
            "passages",
        )
    )
    return page


def ze_access(data: ReportData) -> Page:
    page = Page(
        "ze_access",
        "ZE-zone toegang",
        "Aandeel van de logistieke zone-inritten dat nu is toegestaan (zero-emissie of "
        "overgangsregeling) en wat de volgende regelwijziging betekent, per voertuigcategorie.",
    )
    shares = data.ask("ze_access")
    zone_rows = _zone_rows(shares)
    if zone_rows:
        row = zone_rows[0]
        page.kpis += [
            data.kpi("Toegestaan nu (zero-emissie)", "ze_allowed_share", shares, "share", row),
            data.kpi("Overgangsregeling nu", "ze_transition_share", shares, "share", row),
            data.kpi("Niet toegestaan nu", "ze_not_allowed_share", shares, "share", row),
            data.kpi("Niet toegestaan na volgende wijziging", "ze_not_allowed_share_next", shares, "share", row),
        ]
    by_category = data.ask("ze_access_by_category")
    labels, status_label = data.labels["vehicle_category"], STATUS_LABEL[data.lang]
    rows = []
    for row in _zone_rows(by_category):
        category = str(row["vehicle_category"])
        if category not in ("BEST", "VRAC", "TREK"):
            continue
        for suffix, when in (("", "1" + data.t("nu")), ("_next", "2" + data.t("na wijziging"))):
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
            "Toegang tot de ZE-zone per categorie, nu en na de volgende regelwijziging",
            rows,
            [status_label[s] for s in STATUS_ORDER],
            STATUS_COLOURS,
        )
    )
    page.notes.append(
        "Regels en overgangstermijnen komen uit de seed ref_ze_access_rules (met geldigheidsdata); niet vastgestelde "
        "aankondigingen tellen niet mee. Lichtere balken bevatten geheimgehouden cellen."
    )
    return page


def sectors(data: ReportData) -> Page:
    page = Page("sectors", "Sectoren", "Welke SBI-secties (sector van de eigenaar of lessee) de zone-inritten veroorzaken.")
    result = data.ask("sectors")
    rows = data.bar_rows(MetricResult(result.group_by, result.metrics, _zone_rows(result)), "sbi_section", "sector_passages")
    rows = sorted(rows, key=lambda r: -r["value"])
    page.charts.append(
        bar_chart(
            "sectors",
            "Zone-inritten per SBI-sectie (ZE-zone)",
            rows,
            "category",
            "value",
            "sectie",
            "passages",
            horizontal=True,
            sort=[r["category"] for r in rows],
        )
    )
    page.notes.append(
        "De CBS-sectortabel (T04) kent geen emissieklasse: een zero-emissie-aandeel per sector kan hieruit niet worden afgeleid."
    )
    return page


def origin(data: ReportData) -> Page:
    page = Page(
        "origin",
        "Herkomst",
        "Waar de eigenaren van de voertuigen gevestigd zijn: eigen gemeente, provincie, overig Nederland, buitenland.",
    )
    shares = data.ask("origin_shares")
    zone_rows = _zone_rows(shares)
    if zone_rows:
        page.kpis += [
            data.kpi("Uit eigen gemeente", "own_municipality_share", shares, "share", zone_rows[0]),
            data.kpi("Uit het buitenland", "abroad_share", shares, "share", zone_rows[0]),
        ]
    result = data.ask("origin")
    rows = data.bar_rows(MetricResult(result.group_by, result.metrics, _zone_rows(result)), "owner_region", "origin_passages")
    page.charts.append(
        bar_chart(
            "origin",
            "Zone-inritten naar herkomst van de eigenaar (ZE-zone)",
            rows,
            "category",
            "value",
            "herkomst",
            "passages",
            horizontal=True,
        )
    )
    return page


def visits(data: ReportData) -> Page:
    page = Page(
        "visit_frequency",
        "Bezoekfrequentie",
        "Weinig frequente bezoekers tegenover veel incidentele: unieke voertuigen naar het aantal dagen in de maand.",
    )
    share = data.ask("visit_frequency_share")
    zone_rows = _zone_rows(share)
    if zone_rows:
        page.kpis.append(
            data.kpi("Aandeel frequente bezoekers (10+ dagen)", "frequent_visitor_share", share, "share", zone_rows[0])
        )
    result = data.ask("visit_frequency")
    rows = data.bar_rows(
        MetricResult(result.group_by, result.metrics, _zone_rows(result)), "visit_day_class", "visit_class_vehicles"
    )
    page.charts.append(
        bar_chart(
            "visit_frequency",
            "Unieke voertuigen naar bezoekdagen (ZE-zone)",
            rows,
            "category",
            "value",
            "dagen in de maand",
            "unieke voertuigen",
        )
    )
    page.notes.append(
        "De CBS-tabel T06 telt voertuigen, geen passages: het aandeel passages van frequente bezoekers is niet beschikbaar."
    )
    return page


def locations(data: ReportData) -> Page:
    page = Page("locations", "Locaties", "Cameralocaties op de kaart: grootte naar passages, kleur naar aandeel zero-emissie.")
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
        if zone and zone.endswith("_Z01"):
            zone_points.append((lon, lat))
    hull = convex_hull(zone_points)[::-1]  # clockwise: the ring orientation d3-geo (Vega) reads as the inside
    outline = (
        {
            "type": "Feature",
            "properties": {"name": "ZE-zone (indicatief)"},
            "geometry": {"type": "Polygon", "coordinates": [hull + hull[:1]]},
        }
        if len(hull) >= 3
        else None
    )
    page.charts.append(
        map_chart("locations", "Cameralocaties", points, outline, municipality_outline(data.municipality), ATTRIBUTION)
    )
    page.notes.append(
        "Zonegrens indicatief: de omhullende van de camera's op de ZE-zonegrens (CBS levert geen zonegeometrie). Geen kaarttegels: "
        "de pagina werkt zonder internet."
    )
    page.notes.append("Gemeentegrens: CBS-wijk- en buurtkaart 2025 via PDOK, vereenvoudigd (Bron: CBS/PDOK).")
    page.kpis += [
        Kpi(f"{p['code']} {p['name']}", "passages", MetricValue(p["passages"], 0, p["complete"]), p["passages_label"])
        for p in points
    ]
    return page


def latest_month(con: duckdb.DuckDBPyConnection, municipality: str) -> str:
    row = con.execute(
        "select max(month_start) from marts.fct_passages_hourly where municipality_code = ?", [municipality]
    ).fetchone()
    if row[0] is None:
        return ""
    return row[0].isoformat() if isinstance(row[0], dt.date) else str(row[0])
