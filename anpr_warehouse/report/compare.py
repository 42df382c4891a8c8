"""The comparison (`compare.html`): the municipalities the reader may see, side by side for the report's month.

Which municipalities are "the reader's" is decided by the caller (a vendor's
entitlements, or every municipality in the warehouse for the analyst view);
this page never queries one it was not given. Absolute numbers and rates per
1,000 passages, ranked; a rate built from a lower bound is approximate and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..metrics import MetricValue
from .charts import bar_chart
from .pages import Page, ReportData, fmt_value

PER = 1000


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    kind: str  # count | rate


MEASURES = (
    Measure("logistics_passages", "Logistieke passages", "count"),
    Measure("logistics_per_1000", "Logistieke passages per 1.000 passages", "rate"),
    Measure("zero_emission_per_1000", "Zero-emissie per 1.000 logistieke passages", "rate"),
    Measure("not_allowed_per_1000", "Niet toegestaan nu per 1.000 zone-inritten (ZE-zone)", "rate"),
    Measure("not_allowed_next_per_1000", "Niet toegestaan na volgende wijziging per 1.000 zone-inritten (ZE-zone)", "rate"),
    Measure("unique_vehicles", "Unieke voertuigen ZE-zone", "count"),
)


def _in_list(codes: list[str]) -> str:
    return "{{ Entity('municipality') }} in (" + ", ".join(f"'{c}'" for c in codes) + ")"


def _rate(numerator: MetricValue | None, denominator: MetricValue | None) -> MetricValue | None:
    """Per 1,000; complete only if both parts are (a ratio of lower bounds is approximate, not a bound)."""
    if numerator is None or denominator is None or numerator.value is None or not denominator.value:
        return None
    return MetricValue(
        numerator.value / denominator.value * PER,
        numerator.confidential_cells + denominator.confidential_cells,
        numerator.complete and denominator.complete,
    )


def _share_rate(share: MetricValue | None) -> MetricValue | None:
    if share is None or share.value is None:
        return None
    return MetricValue(share.value * PER, share.confidential_cells, share.complete)


def comparison_values(data: ReportData, municipalities: list[str]) -> dict[str, dict[str, MetricValue | None]]:
    """municipality -> measure -> value for the report's month, from the metric layer (three queries for all)."""
    month = f"{{{{ TimeDimension('metric_time', 'month') }}}} = '{data.month}'"
    where = [_in_list(municipalities), month]
    totals = {
        str(r["municipality"]): r
        for r in data.layer.query(
            ["passages", "logistics_passages", "logistics_zero_emission_share"], ["municipality", "metric_time__month"], where
        ).rows
    }
    zones = [
        r
        for r in data.layer.query(
            ["ze_not_allowed_share", "ze_not_allowed_share_next"], ["municipality", "zone", "metric_time__month"], where
        ).rows
        if str(r["zone"]).endswith("_Z01")
    ]
    access = {str(r["municipality"]): r for r in zones}
    vehicles = {
        str(r["municipality"]): r
        for r in data.layer.query(["unique_vehicles"], ["municipality", "zone", "metric_time__month"], where).rows
        if str(r["zone"]).endswith("_Z01")
    }
    values = {}
    for code in municipalities:
        total, ze, seen = totals.get(code), access.get(code), vehicles.get(code)
        values[code] = {
            "logistics_passages": total["logistics_passages"] if total else None,
            "logistics_per_1000": _rate(total["logistics_passages"], total["passages"]) if total else None,
            "zero_emission_per_1000": _share_rate(total["logistics_zero_emission_share"]) if total else None,
            "not_allowed_per_1000": _share_rate(ze["ze_not_allowed_share"]) if ze else None,
            "not_allowed_next_per_1000": _share_rate(ze["ze_not_allowed_share_next"]) if ze else None,
            "unique_vehicles": seen["unique_vehicles"] if seen else None,
        }
    return values


def compare(data: ReportData, municipalities: list[str]) -> Page:
    page = Page(
        "compare",
        "Vergelijking",
        "De gemeenten die u mag zien, naast elkaar voor dezelfde maand: absoluut en per 1.000 passages, "
        "gerangschikt van hoog naar laag.",
    )
    names = dict(data.con.execute("select municipality_code, municipality_name from marts.dim_municipality").fetchall())
    values = comparison_values(data, municipalities)
    no_data = data.t("geen gegevens voor deze maand")
    for measure in MEASURES:
        ranked = sorted(
            municipalities,
            key=lambda c: (
                -(values[c][measure.key].value if values[c][measure.key] and values[c][measure.key].value is not None else -1)
            ),
        )
        rows = []
        for rank, code in enumerate(ranked, start=1):
            value = values[code][measure.key]
            known = value is not None and value.value is not None
            label = fmt_value(value, "count" if measure.kind == "count" else "rate", data.lang) if known else no_data
            rows.append(
                {
                    "code": code,
                    "category": f"{rank}. {names.get(code, code)}",
                    "municipality": names.get(code, code),
                    "rank": rank if known else None,
                    "value": value.value if known else None,
                    "complete": value.complete if known else True,
                    "label": label,
                    "measure": measure.key,
                }
            )
        chart = bar_chart(
            f"compare_{measure.key}",
            measure.title,
            rows,
            "category",
            "value",
            None,
            measure.title,
            horizontal=True,
            sort=[r["category"] for r in rows],
        )
        chart.table = [("category", "gemeente"), ("label", measure.title)]
        page.charts.append(chart)
    page.notes += _cbs_notes(data, municipalities, names)
    return page


def _cbs_notes(data: ReportData, municipalities: list[str], names: dict[str, str]) -> list[str]:
    """CBS's notes that bear on a comparison: its disclosure control and counting rules, and per municipality the delivery."""
    notes = [
        "CBS: een geheimgehouden cel is onbekend, niet nul; een som met zulke cellen is een ondergrens (minstens), een verhouding "
        "ertussen is bij benadering (circa).",
        "CBS: unieke voertuigen worden geteld binnen de eigen maand en zone; zones van verschillende gemeenten zijn niet even groot.",
        "CBS: gepubliceerde waarden zijn afgerond; detailcellen tellen niet per se op tot het gepubliceerde totaal.",
    ]
    rows = data.con.execute(
        """select municipality_code, delivery_id, layout, version, sdc_min_cell, sdc_rounding_base from raw.cbs_deliveries
           where status = 'current' and period_start = ? order by municipality_code""",
        [data.month],
    ).fetchall()
    delivered = {r[0]: r for r in rows}
    for code in municipalities:
        row = delivered.get(code)
        if row is None:
            notes.append(f"{names.get(code, code)}: {data.t('geen levering voor deze maand')}.")
            continue
        _, delivery, layout, version, min_cell, rounding = row
        text = f"{names.get(code, code)}: {delivery}"
        if layout == "legacy":
            text += f" ({data.t('oud formaat: geen zonetabellen')})"
        else:
            text += (
                f", {data.t('versie')} {version}, {data.t('minimale celwaarde')} {min_cell}, {data.t('afronding op')} {rounding}"
            )
        notes.append(text + ".")
    return notes
