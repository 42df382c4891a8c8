"""The year view (`trend.html`): the last twelve delivered months of one municipality, month by month.

Every number comes from the metric layer, one query per chart over the whole
window. Unique vehicles stay per zone and month (side by side, never summed).
A month that was not delivered, or was delivered in the legacy layout (no zone
tables), is a gap with its reason, never a zero.
"""

from __future__ import annotations

import datetime as dt

from ..metrics import MetricResult, MetricValue
from .charts import month_bars
from .pages import MONTH_ABBR, Page, ReportData, fmt_value

WINDOW = 12
GAP_NOT_DELIVERED = "geen levering"
GAP_LEGACY = "oud formaat: geen zonetabellen"


def month_window(delivered: list[str], until: str) -> list[str]:
    """Calendar months (YYYY-MM-01) ending at `until`: twelve at most, starting no earlier than the first delivery."""
    end = dt.date.fromisoformat(until)
    months = []
    for back in range(WINDOW):
        year, month = divmod(end.year * 12 + end.month - 1 - back, 12)
        months.append(dt.date(year, month + 1, 1).isoformat())
    first = min((m for m in delivered if m <= until), default=until)
    return sorted(m for m in months if m >= first)


def _month_key(value) -> str:
    return str(value)[:7] + "-01"


def _window_filter(data: ReportData, months: list[str]) -> list[str]:
    return [
        f"{{{{ Entity('municipality') }}}} = '{data.municipality}'",
        f"{{{{ TimeDimension('metric_time', 'month') }}}} >= '{months[0]}'",
        f"{{{{ TimeDimension('metric_time', 'month') }}}} <= '{months[-1]}'",
    ]


class YearSeries:
    """Builds month rows with gaps for one metric (optionally per group) from one metric-layer answer."""

    def __init__(self, data: ReportData, months: list[str], layouts: dict[str, str]):
        self.data, self.months, self.layouts = data, months, layouts

    def label(self, month: str) -> str:
        names = MONTH_ABBR[self.data.lang]
        return f"{names[int(month[5:7]) - 1]} {month[:4]}"

    def gap(self, month: str, zone_table: bool) -> str:
        if month not in self.layouts:
            return self.data.t(GAP_NOT_DELIVERED)
        if zone_table and self.layouts[month] == "legacy":
            return self.data.t(GAP_LEGACY)
        return ""

    def rows(
        self, values: dict[tuple[str, str], MetricValue], kind: str, zone_table: bool, groups: list[str] | None = None
    ) -> list[dict]:
        rows = []
        for month in self.months:
            for group in groups or [""]:
                gap = self.gap(month, zone_table)
                value = values.get((month, group))
                if not gap and value is None:
                    gap = self.data.t("geen gegevens")
                known = value is not None and value.value is not None and not gap
                row = {
                    "month": self.label(month),
                    "month_start": month,
                    "value": value.value if known else None,
                    "complete": value.complete if value is not None else True,
                    "gap": gap,
                    "label": fmt_value(value, kind, self.data.lang) if known else gap,
                }
                if groups is not None:  # a grouped chart (even with no group known yet, e.g. only a legacy month)
                    row["group"] = group
                rows.append(row)
        return rows


def _by_month(result: MetricResult, metric: str, group: str | None = None) -> dict[tuple[str, str], MetricValue]:
    return {(_month_key(r["metric_time__month"]), str(r[group]) if group else ""): r[metric] for r in result.rows}


def trend(data: ReportData) -> Page:
    page = Page(
        "trend",
        "Jaaroverzicht",
        "De laatste twaalf geleverde maanden: logistieke passages, aandeel zero-emissie, toegang tot de "
        "ZE-zone nu en na de volgende regelwijziging, en unieke voertuigen per zone.",
    )
    layouts = {
        r[0].isoformat(): r[1]
        for r in data.con.execute(
            "select period_start, layout from raw.cbs_deliveries where municipality_code = ? and status = 'current'",
            [data.municipality],
        ).fetchall()
    }
    months = month_window(sorted(layouts), data.month)
    series = YearSeries(data, months, layouts)
    where = _window_filter(data, months)

    month = data.layer.query(["logistics_passages", "logistics_zero_emission_share"], ["metric_time__month"], where)
    page.charts.append(
        month_bars(
            "trend_logistics",
            "Logistieke passages per maand",
            series.rows(_by_month(month, "logistics_passages"), "count", zone_table=False),
            "passages",
        )
    )
    page.charts.append(
        month_bars(
            "trend_zero_emission",
            "Aandeel zero-emissie in de logistieke passages per maand",
            series.rows(_by_month(month, "logistics_zero_emission_share"), "share", zone_table=False),
            "aandeel zero-emissie",
            value_format=".0%",
        )
    )

    access = data.layer.query(["ze_not_allowed_share", "ze_not_allowed_share_next"], ["zone", "metric_time__month"], where)
    zone = next((str(r["zone"]) for r in access.rows if str(r["zone"]).endswith("_Z01")), None)
    access_values: dict[tuple[str, str], MetricValue] = {}
    now, after = data.t("nu"), data.t("na volgende wijziging")
    for row in access.rows:
        if str(row["zone"]) == zone:
            access_values[(_month_key(row["metric_time__month"]), now)] = row["ze_not_allowed_share"]
            access_values[(_month_key(row["metric_time__month"]), after)] = row["ze_not_allowed_share_next"]
    page.charts.append(
        month_bars(
            "trend_ze_access",
            "Niet toegestane zone-inritten (ZE-zone), nu en na de volgende regelwijziging",
            series.rows(access_values, "share", zone_table=True, groups=[now, after]),
            "aandeel niet toegestaan",
            value_format=".0%",
            group="group",
            group_title="regels",
        )
    )

    vehicles = data.layer.query(["unique_vehicles"], ["zone", "metric_time__month"], where)
    zones = sorted({str(r["zone"]) for r in vehicles.rows})
    page.charts.append(
        month_bars(
            "trend_unique_vehicles",
            "Unieke voertuigen per zone en maand",
            series.rows(_by_month(vehicles, "unique_vehicles", "zone"), "count", zone_table=True, groups=zones),
            "unieke voertuigen",
            group="group",
            group_title="zone",
        )
    )
    page.notes += [
        "Unieke voertuigen telt CBS per zone en maand: de balken staan naast elkaar en worden nooit opgeteld.",
        "Een lege maand is een gat, geen nul: niet geleverd, of geleverd in het oude formaat zonder zonetabellen.",
        "Gearceerde balken en 'minstens': er zitten geheimgehouden CBS-cellen in; de waarde is een ondergrens.",
    ]
    return page
