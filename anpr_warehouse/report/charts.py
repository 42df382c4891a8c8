"""Vega-Lite specs for the standard visualisations, rendered offline to SVG with vl-convert.

Each chart is a plain Vega-Lite spec with its data inline, so a vendor can reuse
the JSON in its own twin. Values that include confidential CBS cells are drawn
hatched and labelled as a lower bound ("minstens 1.240"): the SVG gets a
pattern fill where the spec used a sentinel colour, which Vega-Lite itself
cannot express.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import vl_convert as vlc

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
INCOMPLETE_COLOUR = "#fe01fe"  # sentinel, replaced by the hatch pattern in the SVG
BASE_COLOUR = "#2b6cb0"
HATCH = (
    '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#9fb8d6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#2b6cb0" stroke-width="3"/>'
    "</pattern></defs>"
)


@dataclass
class Chart:
    name: str
    title: str
    spec: dict

    def svg(self) -> str:
        svg = vlc.vegalite_to_svg(self.spec, format_locale="nl-NL")
        if INCOMPLETE_COLOUR in svg:
            svg = svg.replace(f'fill="{INCOMPLETE_COLOUR}"', 'fill="url(#hatch)"')
            head_end = svg.index(">") + 1
            svg = svg[:head_end] + HATCH + svg[head_end:]
        return svg

    def write(self, folder: Path) -> str:
        """Writes `<name>.vl.json` (spec with data) and `<name>.data.json`; returns the SVG for inlining."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.vl.json").write_text(json.dumps(self.spec, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        data = self.spec.get("data", {}).get("values", [])
        (folder / f"{self.name}.data.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        return self.svg()


def _bar_colour() -> dict:
    return {"condition": {"test": "datum.complete === false", "value": INCOMPLETE_COLOUR}, "value": BASE_COLOUR}


def bar_chart(name: str, title: str, rows: list[dict], category: str, value: str, category_title: str, value_title: str,
              horizontal: bool = False, sort: list[str] | None = None, value_format: str = ",.0f") -> Chart:
    """Bars with a lower-bound label ('minstens ...') where confidential cells are inside."""
    cat_axis = {"field": category, "type": "nominal", "title": category_title, "sort": sort or None}
    val_axis = {"field": value, "type": "quantitative", "title": value_title, "axis": {"format": value_format}}
    encoding = {"y": cat_axis, "x": val_axis} if horizontal else {"x": cat_axis, "y": val_axis}
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": 560 if horizontal else max(300, 40 * len(rows)),
        "height": max(160, 22 * len(rows)) if horizontal else 260,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "bar"}, "encoding": {**encoding, "color": _bar_colour()}},
            {
                "mark": {"type": "text", "align": "left" if horizontal else "center", "dx": 4 if horizontal else 0,
                         "dy": 0 if horizontal else -6, "fontSize": 10},
                "encoding": {**encoding, "text": {"field": "label", "type": "nominal"}},
            },
        ],
    }
    return Chart(name, title, spec)


def line_chart(name: str, title: str, rows: list[dict], x: str, value: str, x_title: str, value_title: str) -> Chart:
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": 620,
        "height": 240,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "line", "color": BASE_COLOUR}, "encoding": {
                "x": {"field": x, "type": "temporal", "title": x_title, "axis": {"format": "%d %b"}},
                "y": {"field": value, "type": "quantitative", "title": value_title}}},
            {"mark": {"type": "point", "filled": True, "size": 40}, "encoding": {
                "x": {"field": x, "type": "temporal"}, "y": {"field": value, "type": "quantitative"},
                "color": _bar_colour(), "shape": {"condition": {"test": "datum.complete === false", "value": "triangle-up"}, "value": "circle"}}},
        ],
    }
    return Chart(name, title, spec)


def heatmap(name: str, title: str, rows: list[dict], facet_sort: list[str], days: list[str]) -> Chart:
    """Hour of day x day of week, one panel per vehicle category; lower-bound cells carry a dot."""
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "data": {"values": rows},
        "facet": {"field": "category", "type": "nominal", "title": None, "sort": facet_sort},
        "columns": 2,
        "spec": {
            "width": 300,
            "height": 140,
            "layer": [
                {"mark": "rect", "encoding": {
                    "x": {"field": "hour", "type": "ordinal", "title": "uur"},
                    "y": {"field": "day", "type": "ordinal", "title": None, "sort": days},
                    "color": {"field": "passages", "type": "quantitative", "title": "passages", "scale": {"scheme": "blues"}}}},
                {"transform": [{"filter": "datum.complete === false"}], "mark": {"type": "point", "size": 6, "color": "#c05621", "filled": True},
                 "encoding": {"x": {"field": "hour", "type": "ordinal"}, "y": {"field": "day", "type": "ordinal", "sort": days}}},
            ],
        },
        "resolve": {"scale": {"color": "independent"}},
    }
    return Chart(name, title, spec)


def stacked_share_chart(name: str, title: str, rows: list[dict], statuses: list[str], colours: list[str]) -> Chart:
    spec = {
        "$schema": SCHEMA,
        "title": title,
        "width": 520,
        "height": 160,
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "title": None, "sort": {"field": "sort"}},
            "x": {"field": "share", "type": "quantitative", "title": "aandeel van de passages", "axis": {"format": ".0%"}, "stack": "zero"},
            "color": {"field": "status", "type": "nominal", "title": "toegang", "sort": statuses,
                      "scale": {"domain": statuses, "range": colours}},
            "order": {"field": "order", "type": "quantitative"},
            "opacity": {"condition": {"test": "datum.complete === false", "value": 0.6}, "value": 1},
        },
    }
    return Chart(name, title, spec)


def map_chart(name: str, title: str, points: list[dict], outline: dict | None) -> Chart:
    """Camera sites on a plain projection (no internet tiles): size = passages, colour = ZE share."""
    layers = []
    if outline:
        layers.append({"data": {"values": [outline]}, "mark": {"type": "geoshape", "fill": "#e6f0fa", "stroke": "#2b6cb0", "strokeDash": [4, 3]}})
    layers.append({
        "data": {"values": points},
        "mark": {"type": "circle", "opacity": 0.85, "stroke": "#1a202c", "strokeWidth": 0.5},
        "encoding": {
            "longitude": {"field": "lon", "type": "quantitative"},
            "latitude": {"field": "lat", "type": "quantitative"},
            "size": {"field": "passages", "type": "quantitative", "title": "passages", "scale": {"range": [40, 900]}},
            "color": {"field": "ze_share", "type": "quantitative", "title": "aandeel ZE", "scale": {"scheme": "greens"}, "legend": {"format": ".1%"}},
        },
    })
    layers.append({
        "data": {"values": points},
        "mark": {"type": "text", "dy": -12, "fontSize": 9},
        "encoding": {"longitude": {"field": "lon", "type": "quantitative"}, "latitude": {"field": "lat", "type": "quantitative"},
                     "text": {"field": "code", "type": "nominal"}},
    })
    spec = {"$schema": SCHEMA, "title": title, "width": 560, "height": 460, "projection": {"type": "mercator"}, "layer": layers}
    return Chart(name, title, spec)
