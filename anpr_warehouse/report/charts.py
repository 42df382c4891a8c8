"""Vega-Lite specs for the standard visualisations, rendered offline to SVG with vl-convert.

Each chart is a plain Vega-Lite spec with its data inline, so a vendor can reuse
the JSON in its own twin. Values that include confidential CBS cells are drawn
hatched and labelled as a lower bound ("minstens 1.240"): the SVG gets a
pattern fill where the spec used a sentinel colour, which Vega-Lite itself
cannot express.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import vl_convert as vlc

from .language import Texts

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
INCOMPLETE_COLOUR = "#fe01fe"  # sentinel, replaced by the hatch pattern in the SVG
BASE_COLOUR = "#2b6cb0"
# Charts are drawn at the page's content width and scale down with it (the SVG keeps its viewBox; style.css sets
# width: 100%), so they take the page width on screen and fit an A4 page in print.
WIDTH = 1000
TEXT_COLOUR, MUTED_TEXT = "#1a202c", "#2d3748"  # contrast >= 11:1 on white (WCAG 2.1 AA asks 4.5:1; Vega's default grey is 3.5:1)
CONFIG = {
    "title": {"color": TEXT_COLOUR, "anchor": "start", "fontSize": 15, "subtitleColor": MUTED_TEXT},
    "axis": {
        "labelColor": MUTED_TEXT,
        "titleColor": TEXT_COLOUR,
        "titlePadding": 14,
        "domainColor": "#4a5568",
        "tickColor": "#4a5568",
        "labelFontSize": 11,
    },
    "legend": {"labelColor": MUTED_TEXT, "titleColor": TEXT_COLOUR, "labelLimit": 320},
    "header": {"labelColor": TEXT_COLOUR, "titleColor": TEXT_COLOUR},
    "text": {"color": TEXT_COLOUR},
}
HATCH = (
    '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#9fb8d6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#2b6cb0" stroke-width="3"/>'
    "</pattern></defs>"
)
# Side-by-side series keep their own colour when hatched: one sentinel (and one pattern) per series colour.
SERIES_COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#975a16"]
SERIES_SENTINELS = [f"#fe01f{i}" for i in range(len(SERIES_COLOURS))]


def _series_hatch(index: int) -> str:
    colour = SERIES_COLOURS[index]
    return (
        f'<pattern id="hatch{index}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{colour}" stroke-width="3"/></pattern>'
    )


def chart_title(text: str, width: int = WIDTH, subtitle: str | None = None) -> dict:
    """A title wrapped onto lines that fit the chart (Vega does not wrap; a long title would stick out of a narrow chart)."""
    title: dict = {"text": textwrap.wrap(text, max(30, width // 8)) or [""]}
    if subtitle:
        title["subtitle"] = subtitle
    return title


@dataclass
class Chart:
    name: str
    title: str
    spec: dict
    # the chart's text alternative: rows and (field, header) columns of the table under the chart
    rows: list[dict] = field(default_factory=list)
    table: list[tuple[str, str]] = field(default_factory=list)
    empty: str | None = None  # why there is nothing to draw; the page says so instead of drawing an empty frame

    def __post_init__(self) -> None:
        self.spec.setdefault("config", CONFIG)
        # vl-convert has no canvas and estimates text widths; the browser's are a little wider: room so nothing is cut
        self.spec.setdefault("padding", {"left": 14, "right": 48, "top": 6, "bottom": 6})

    def _wrap_title(self) -> None:
        """Wraps the title when the chart is written, so the spec and the page hold it whole until then."""
        if isinstance(self.spec.get("title"), str):
            self.spec["title"] = chart_title(
                self.spec["title"], self.spec.get("width") if isinstance(self.spec.get("width"), int) else WIDTH
            )

    def svg(self) -> str:
        svg = vlc.vegalite_to_svg(self.spec, format_locale="nl-NL")
        if INCOMPLETE_COLOUR in svg:
            svg = svg.replace(f'fill="{INCOMPLETE_COLOUR}"', 'fill="url(#hatch)"')
            head_end = svg.index(">") + 1
            svg = svg[:head_end] + HATCH + svg[head_end:]
        patterns = ""
        for index, sentinel in enumerate(SERIES_SENTINELS):
            if f'fill="{sentinel}"' in svg:
                svg = svg.replace(f'fill="{sentinel}"', f'fill="url(#hatch{index})"')
                patterns += _series_hatch(index)
        if patterns:
            head_end = svg.index(">") + 1
            svg = svg[:head_end] + f"<defs>{patterns}</defs>" + svg[head_end:]
        return svg

    def write(self, folder: Path) -> str:
        """Writes `<name>.vl.json` (spec with data) and `<name>.data.json`; returns the SVG for inlining ('' if empty)."""
        self._wrap_title()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.vl.json").write_text(
            json.dumps(self.spec, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        data = self.spec.get("data", {}).get("values") or self.rows
        (folder / f"{self.name}.data.json").write_text(
            json.dumps(data, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        return "" if self.empty else self.svg()


def _bar_colour() -> dict:
    return {"condition": {"test": "datum.complete === false", "value": INCOMPLETE_COLOUR}, "value": BASE_COLOUR}


def bar_chart(
    name: str,
    title: str,
    rows: list[dict],
    category: str,
    value: str,
    category_title: str | None,
    value_title: str,
    horizontal: bool = False,
    sort: list[str] | None = None,
    value_format: str = ",.0f",
) -> Chart:
    """Bars with a lower-bound label ('minstens ...') where confidential cells are inside."""
    cat_axis = {"field": category, "type": "nominal", "title": category_title, "sort": sort or None}
    val_axis = {"field": value, "type": "quantitative", "title": value_title, "axis": {"format": value_format}}
    largest = max((r[value] or 0 for r in rows), default=0)
    if horizontal and largest:  # room right of the longest bar for its label ("minstens 448.720")
        val_axis["scale"] = {"domain": [0, largest * 1.22], "nice": False}
    encoding = {"y": cat_axis, "x": val_axis} if horizontal else {"x": cat_axis, "y": val_axis}
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH - 260 if horizontal else WIDTH - 80,
        "height": max(160, 22 * len(rows)) if horizontal else 260,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "bar"}, "encoding": {**encoding, "color": _bar_colour()}},
            {
                "mark": {
                    "type": "text",
                    "align": "left" if horizontal else "center",
                    "dx": 4 if horizontal else 0,
                    "dy": 0 if horizontal else -6,
                    "fontSize": 10,
                },
                "encoding": {**encoding, "text": {"field": "label", "type": "nominal"}},
            },
        ],
    }
    return Chart(name, title, spec, rows, [(category, category_title), ("label", value_title)])


def line_chart(name: str, title: str, rows: list[dict], x: str, value: str, x_title: str, value_title: str) -> Chart:
    """A daily series; ticks fall on whole days (at most ~12 of them), so a short month never repeats a date."""
    step = max(1, -(-len(rows) // 12))
    time_axis = {
        "field": x,
        "type": "temporal",
        "timeUnit": "yearmonthdate",
        "title": x_title,
        "axis": {"format": "%d %b", "tickCount": {"interval": "day", "step": step}, "labelOverlap": True},
    }
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH - 80,
        "height": 240,
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "line", "color": BASE_COLOUR},
                "encoding": {"x": time_axis, "y": {"field": value, "type": "quantitative", "title": value_title}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 40},
                "encoding": {
                    "x": {"field": x, "type": "temporal", "timeUnit": "yearmonthdate"},
                    "y": {"field": value, "type": "quantitative"},
                    "color": _bar_colour(),
                    "shape": {"condition": {"test": "datum.complete === false", "value": "triangle-up"}, "value": "circle"},
                },
            },
        ],
    }
    return Chart(name, title, spec, rows, [(x, x_title), ("label", value_title)])


def month_bars(
    name: str,
    title: str,
    rows: list[dict],
    value_title: str,
    t: Texts,
    value_format: str = ",.0f",
    group: str | None = None,
    group_title: str | None = None,
) -> Chart:
    """One bar per month (per group side by side when `group` is set, never stacked or summed).

    Rows: `month` (label, in order), `value` (None in a gap), `label`, `complete`, `gap` (why a month has no
    value: not delivered, legacy layout). A gap is an empty slot on the axis with its reason written in it;
    hatched bars hold confidential cells (lower bounds).
    """
    months = list(dict.fromkeys(r["month"] for r in rows))
    x = {"field": "month", "type": "ordinal", "title": None, "sort": months, "axis": {"labelAngle": 0}}
    y = {"field": "value", "type": "quantitative", "title": value_title, "axis": {"format": value_format}}
    bar_encoding: dict = {"x": x, "y": y, "color": _bar_colour()}
    if group:
        groups = list(dict.fromkeys(r[group] for r in rows if r.get(group) is not None))[: len(SERIES_COLOURS)]
        for row in rows:  # a lower bound is drawn in its series' hatch: key "<series> *" maps to that series' sentinel
            row["series"] = row.get(group) if row.get("complete", True) else f"{row.get(group)} *"
        bar_encoding["xOffset"] = {"field": group, "type": "nominal", "sort": groups}
        bar_encoding["color"] = {
            "field": "series",
            "type": "nominal",
            "title": group_title,
            "scale": {
                "domain": groups + [f"{g} *" for g in groups],
                "range": SERIES_COLOURS[: len(groups)] + SERIES_SENTINELS[: len(groups)],
            },
            "legend": {"values": groups},
        }
    label_encoding = {k: v for k, v in bar_encoding.items() if k != "color"}
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH - 220 if group else WIDTH - 80,
        "height": 240,
        "data": {"values": rows},
        "layer": [
            {"transform": [{"filter": "datum.value != null"}], "mark": {"type": "bar"}, "encoding": bar_encoding},
            {
                "transform": [{"filter": "datum.value != null"}],
                "mark": {"type": "text", "dy": -6, "fontSize": 10 if not group else 9},
                "encoding": {**label_encoding, "text": {"field": "label"}},
            },
            {
                "transform": [{"filter": "datum.value == null"}],
                "mark": {
                    "type": "text",
                    "angle": -90,
                    "align": "left",
                    "baseline": "middle",
                    "fontSize": 11,
                    "fontStyle": "italic",
                    "color": MUTED_TEXT,
                },
                "encoding": {"x": x, "y": {"value": 232}, "text": {"field": "gap"}},
            },
        ],
    }
    table = [("month", t("axis.month"))] + ([(group, group_title or group)] if group else []) + [("label", value_title)]
    return Chart(name, title, spec, rows, table)


def heatmap(name: str, title: str, rows: list[dict], facet_sort: list[str], days: list[str], t: Texts) -> Chart:
    """Hour of day x day of week, one panel per vehicle category; lower-bound cells carry a dot."""
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "data": {"values": rows},
        "facet": {"field": "category", "type": "nominal", "title": None, "sort": facet_sort},
        "columns": 2,
        "spec": {
            "width": (WIDTH - 260) // 2,
            "height": 140,
            "layer": [
                {
                    "mark": "rect",
                    "encoding": {
                        "x": {"field": "hour", "type": "ordinal", "title": t("axis.hour")},
                        "y": {"field": "day", "type": "ordinal", "title": None, "sort": days},
                        "color": {
                            "field": "passages",
                            "type": "quantitative",
                            "title": t("axis.passages"),
                            "scale": {"scheme": "blues"},
                        },
                    },
                },
                {
                    "transform": [{"filter": "datum.complete === false"}],
                    "mark": {"type": "point", "size": 6, "color": "#c05621", "filled": True},
                    "encoding": {
                        "x": {"field": "hour", "type": "ordinal"},
                        "y": {"field": "day", "type": "ordinal", "sort": days},
                    },
                },
            ],
        },
        "resolve": {"scale": {"color": "independent"}},
    }
    table = [
        ("category", t("axis.category")),
        ("day", t("axis.day")),
        ("hour", t("axis.hour")),
        ("label", t("axis.passages")),
    ]
    return Chart(name, title, spec, rows, table)


def stacked_share_chart(name: str, title: str, rows: list[dict], statuses: list[str], colours: list[str], t: Texts) -> Chart:
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH - 360,
        "height": max(160, 26 * len({r["group"] for r in rows})),
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "title": None, "sort": {"field": "sort"}},
            "x": {
                "field": "share",
                "type": "quantitative",
                "title": t("axis.share_of_passages"),
                "axis": {"format": ".0%"},
                "stack": "zero",
            },
            "color": {
                "field": "status",
                "type": "nominal",
                "title": t("axis.access"),
                "sort": statuses,
                "scale": {"domain": statuses, "range": colours},
            },
            "order": {"field": "order", "type": "quantitative"},
            "opacity": {"condition": {"test": "datum.complete === false", "value": 0.6}, "value": 1},
        },
    }
    table = [("group", t("axis.category")), ("status", t("axis.access")), ("label", t("axis.share_of_passages"))]
    return Chart(name, title, spec, rows, table)


def map_chart(
    name: str, title: str, points: list[dict], zone: dict | None, municipality: dict | None, attribution: str, t: Texts
) -> Chart:
    """Camera sites on the municipality's outline (no internet tiles): size = passages, colour = ZE share.

    The outline is one inline GeoJSON feature (see boundary.py), drawn as a `geoshape` under the points; the
    projection fits the municipality, so the sites are seen where they are in the city.
    """
    layers = []
    if municipality:
        layers.append(
            {
                "data": {"values": [municipality]},
                "mark": {"type": "geoshape", "fill": "#edf2f7", "stroke": "#4a5568", "strokeWidth": 1.2},
            }
        )
    if zone:
        layers.append(
            {
                "data": {"values": [zone]},
                "mark": {"type": "geoshape", "fill": "#e6f0fa", "stroke": "#2b6cb0", "strokeDash": [4, 3]},
            }
        )
    layers.append(
        {
            "data": {"values": points},
            "mark": {"type": "circle", "opacity": 0.85, "stroke": "#1a202c", "strokeWidth": 0.5},
            "encoding": {
                "longitude": {"field": "lon", "type": "quantitative"},
                "latitude": {"field": "lat", "type": "quantitative"},
                "size": {"field": "passages", "type": "quantitative", "title": t("axis.passages"), "scale": {"range": [40, 900]}},
                "color": {
                    "field": "ze_share",
                    "type": "quantitative",
                    "title": t("axis.ze_share"),
                    "scale": {"scheme": "greens"},
                    "legend": {"format": ".1%"},
                },
            },
        }
    )
    layers.append(
        {
            "data": {"values": points},
            "mark": {"type": "text", "dy": -12, "fontSize": 9},
            "encoding": {
                "longitude": {"field": "lon", "type": "quantitative"},
                "latitude": {"field": "lat", "type": "quantitative"},
                "text": {"field": "code", "type": "nominal"},
            },
        }
    )
    layers.append(
        {  # attribution of the boundaries, in the chart itself so it travels with the SVG and the spec
            "data": {"values": [{}]},
            "mark": {"type": "text", "align": "right", "baseline": "bottom", "fontSize": 10, "color": MUTED_TEXT},
            "encoding": {"x": {"value": "width"}, "y": {"value": "height"}, "text": {"value": attribution}},
        }
    )
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH - 200,
        "height": 560,
        "projection": {"type": "mercator"},
        "layer": layers,
    }
    table = [
        ("code", t("axis.site")),
        ("name", t("axis.name")),
        ("zone", t("axis.zone")),
        ("passages_label", t("axis.passages")),
        ("ze_share_label", t("axis.ze_share")),
    ]
    return Chart(name, title, spec, points, table)
