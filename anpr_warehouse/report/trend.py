"""The year view (`trend.html`): the last twelve delivered months of one municipality, month by month.

Every number comes from the metric layer, one query per chart over the whole
window. Unique vehicles stay per zone and month (side by side, never summed).
A month that was not delivered, or was delivered in the legacy layout (no zone
tables), is a gap with its reason, never a zero.

What the page shows is read once (`year_inputs`) and is also the page's fingerprint
(report/inputs.py), so deciding whether the page changed hashes four month-grain
answers, not the municipality's marts rows of a whole year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..metrics import MetricResult, MetricValue
from .charts import month_bars
from .pages import Page, ReportData, fmt_value, result_json

WINDOW = 12


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
        names = self.data.t.list("calendar.month_abbr")
        return f"{names[int(month[5:7]) - 1]} {month[:4]}"

    def gap(self, month: str, zone_table: bool) -> str:
        if month not in self.layouts:
            return self.data.t("gap.not_delivered")
        if zone_table and self.layouts[month] == "legacy":
            return self.data.t("gap.legacy")
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
                    gap = self.data.t("gap.no_data")
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


@dataclass
class YearInputs:
    """What the year view shows: the window, each month's delivered layout and four answers over the window."""

    layouts: dict[str, str]  # YYYY-MM-01 -> layout of the current delivery
    months: list[str]
    month: MetricResult  # logistics passages and zero-emission share per month
    access: MetricResult  # ZE-zone entries not allowed now and after the next change, per zone and month
    vehicles: MetricResult  # unique vehicles per zone and month
    ze_zones: list[str]  # which of the answers' zones are ZE zones (dim_zone's flag picks the access rows shown)

    def as_json(self) -> dict:
        """The page's inputs as plain JSON (its fingerprint is their hash)."""
        answers = {"month": self.month, "access": self.access, "vehicles": self.vehicles}
        return {
            "layouts": self.layouts,
            "months": self.months,
            "ze_zones": self.ze_zones,
            **{k: result_json(v) for k, v in answers.items()},
        }


def year_inputs(data: ReportData) -> YearInputs:
    """The year view's inputs, read once per report (the fingerprint and the page both use them)."""
    if "trend" not in data.memo:
        layouts = {
            r[0].isoformat(): r[1]
            for r in data.con.execute(
                "select period_start, layout from raw.cbs_deliveries where municipality_code = ? and status = 'current'",
                [data.municipality],
            ).fetchall()
        }
        months = month_window(sorted(layouts), data.month)
        where = _window_filter(data, months)
        access = data.layer.query(["ze_not_allowed_share", "ze_not_allowed_share_next"], ["zone", "metric_time__month"], where)
        data.memo["trend"] = YearInputs(
            layouts,
            months,
            data.layer.query(["logistics_passages", "logistics_zero_emission_share"], ["metric_time__month"], where),
            access,
            data.layer.query(["unique_vehicles"], ["zone", "metric_time__month"], where),
            # only the zones answered: another municipality's new ZE zone (dim_zone) changes nothing on this page
            sorted({str(r["zone"]) for r in access.rows} & data.ze_zones),
        )
    return data.memo["trend"]


def trend(data: ReportData) -> Page:
    t = data.t
    page = Page("trend", t("page.trend.title"), t("page.trend.intro"))
    shown = year_inputs(data)
    series = YearSeries(data, shown.months, shown.layouts)
    month = shown.month
    page.charts.append(
        month_bars(
            "trend_logistics",
            t("page.trend.chart_logistics"),
            series.rows(_by_month(month, "logistics_passages"), "count", zone_table=False),
            t("axis.passages"),
            t,
        )
    )
    page.charts.append(
        month_bars(
            "trend_zero_emission",
            t("page.trend.chart_zero_emission"),
            series.rows(_by_month(month, "logistics_zero_emission_share"), "share", zone_table=False),
            t("axis.zero_emission_share"),
            t,
            value_format=".0%",
        )
    )

    access = shown.access
    zone = next((str(r["zone"]) for r in access.rows if str(r["zone"]) in data.ze_zones), None)
    access_values: dict[tuple[str, str], MetricValue] = {}
    now, after = t("page.trend.now"), t("page.trend.after_next_change")
    for row in access.rows:
        if str(row["zone"]) == zone:
            access_values[(_month_key(row["metric_time__month"]), now)] = row["ze_not_allowed_share"]
            access_values[(_month_key(row["metric_time__month"]), after)] = row["ze_not_allowed_share_next"]
    page.charts.append(
        month_bars(
            "trend_ze_access",
            t("page.trend.chart_ze_access"),
            series.rows(access_values, "share", zone_table=True, groups=[now, after]),
            t("axis.share_not_allowed"),
            t,
            value_format=".0%",
            group="group",
            group_title=t("axis.rules"),
        )
    )

    vehicles = shown.vehicles
    zones = sorted({str(r["zone"]) for r in vehicles.rows})
    page.charts.append(
        month_bars(
            "trend_unique_vehicles",
            t("page.trend.chart_unique_vehicles"),
            series.rows(_by_month(vehicles, "unique_vehicles", "zone"), "count", zone_table=True, groups=zones),
            t("axis.unique_vehicles"),
            t,
            group="group",
            group_title=t("axis.zone"),
        )
    )
    page.notes += [t("page.trend.note_unique_vehicles"), t("page.trend.note_gap"), t("page.trend.note_hatched")]
    return page
