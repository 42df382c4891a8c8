"""The comparison (`compare.html`): the municipalities the reader may see, side by side for the report's month.

Which municipalities are "the reader's" is decided by the caller (a vendor's
entitlements, or every municipality in the warehouse for the analyst view);
this page never queries one it was not given. Absolute numbers and rates per
1,000 passages, ranked; a rate built from a lower bound is approximate and says so.

What the page shows is read once (`comparison`) and is also the page's fingerprint
(report/inputs.py): hashing every visible municipality's marts rows instead, as before,
grew the report with the number of municipalities in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..metrics import MetricValue
from .charts import bar_chart
from .pages import Page, ReportData, fmt_value

PER = 1000


@dataclass(frozen=True)
class Measure:
    key: str
    title: str  # text id (texts/<lang>.yaml)
    kind: str  # count | rate


MEASURES = (
    Measure("logistics_passages", "page.compare.measure_logistics_passages", "count"),
    Measure("logistics_per_1000", "page.compare.measure_logistics_per_1000", "rate"),
    Measure("zero_emission_per_1000", "page.compare.measure_zero_emission_per_1000", "rate"),
    Measure("not_allowed_per_1000", "page.compare.measure_not_allowed_per_1000", "rate"),
    Measure("not_allowed_next_per_1000", "page.compare.measure_not_allowed_next_per_1000", "rate"),
    Measure("unique_vehicles", "page.compare.measure_unique_vehicles", "count"),
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


@dataclass
class Comparison:
    """Everything the comparison page shows besides its texts: values, names and each municipality's delivery."""

    values: dict[str, dict[str, MetricValue | None]]  # municipality -> measure -> value
    names: dict[str, str]  # municipality -> name
    delivered: dict[str, tuple]  # municipality -> its current delivery of the month (register row)

    def as_json(self) -> dict:
        """The page's inputs as plain JSON (its fingerprint is their hash)."""
        return {
            "values": {
                code: {key: value.as_json() if value else None for key, value in measures.items()}
                for code, measures in self.values.items()
            },
            "names": self.names,
            "delivered": {code: [str(field) for field in row] for code, row in self.delivered.items()},
        }


def comparison(data: ReportData, municipalities: list[str]) -> Comparison:
    """The comparison's inputs, read once per report (the fingerprint and the page both use them)."""
    key = ("compare", tuple(municipalities))
    if key not in data.memo:
        names = "select municipality_code, municipality_name from marts.dim_municipality where municipality_code in (select unnest(?))"
        data.memo[key] = Comparison(
            comparison_values(data, municipalities),
            dict(data.con.execute(names, [municipalities]).fetchall()),
            _delivered(data.con, municipalities, data.month),
        )
    return data.memo[key]


def _delivered(con: duckdb.DuckDBPyConnection, municipalities: list[str], month: str) -> dict[str, tuple]:
    """municipality -> its current delivery of the month (only the municipalities compared: nobody else's is shown)."""
    rows = con.execute(
        """select municipality_code, delivery_id, layout, version, sdc_min_cell, sdc_rounding_base from raw.cbs_deliveries
           where status = 'current' and period_start = ? and municipality_code in (select unnest(?))
           order by municipality_code""",
        [month, municipalities],
    ).fetchall()
    return {r[0]: r for r in rows}


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
        if str(r["zone"]) in data.ze_zones
    ]
    access = {str(r["municipality"]): r for r in zones}
    vehicles = {
        str(r["municipality"]): r
        for r in data.layer.query(["unique_vehicles"], ["municipality", "zone", "metric_time__month"], where).rows
        if str(r["zone"]) in data.ze_zones
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
    t = data.t
    page = Page("compare", t("page.compare.title"), t("page.compare.intro"))
    shown = comparison(data, municipalities)
    names, values = shown.names, shown.values
    no_data = t("page.compare.no_data")
    for measure in MEASURES:
        title = t(measure.title)
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
            title,
            rows,
            "category",
            "value",
            None,
            title,
            horizontal=True,
            sort=[r["category"] for r in rows],
        )
        chart.table = [("category", t("axis.municipality")), ("label", title)]
        page.charts.append(chart)
    page.notes += _cbs_notes(data, municipalities, names, shown.delivered)
    return page


def _cbs_notes(data: ReportData, municipalities: list[str], names: dict[str, str], delivered: dict[str, tuple]) -> list[str]:
    """CBS's notes that bear on a comparison: its disclosure control and counting rules, and per municipality the delivery."""
    t = data.t
    notes = [t("page.compare.note_confidential"), t("page.compare.note_unique_vehicles"), t("page.compare.note_rounding")]
    for code in municipalities:
        row = delivered.get(code)
        if row is None:
            notes.append(f"{names.get(code, code)}: {t('page.compare.no_delivery')}.")
            continue
        _, delivery, layout, version, min_cell, rounding = row
        text = f"{names.get(code, code)}: {delivery}"
        if layout == "legacy":
            text += f" ({t('gap.legacy')})"
        else:
            text += (
                f", {t('page.compare.version')} {version}, {t('page.compare.min_cell')} {min_cell},"
                f" {t('page.compare.rounding')} {rounding}"
            )
        notes.append(text + ".")
    return notes
