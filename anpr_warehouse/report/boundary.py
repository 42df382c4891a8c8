"""The municipality's outline for the camera map, cut from CBS/PDOK's municipal boundaries (TopoJSON).

Only the report's own municipality is decoded into GeoJSON and inlined in the
chart spec: the whole country would make every map page ~130 kB heavier, and
Vega-Lite would need the TopoJSON file over a URL, which a page that must work
offline from disk cannot fetch.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

BOUNDARIES = Path(__file__).parent / "data" / "gemeente_2025.topojson"
OBJECT = "gemeente_2025"
ATTRIBUTION = "Bron: CBS/PDOK"


@lru_cache(maxsize=1)
def _topology() -> dict:
    return json.loads(BOUNDARIES.read_text(encoding="utf-8"))


def _decode_arc(arc: list[list[int]], scale: list[float], translate: list[float]) -> list[list[float]]:
    """Quantized, delta-encoded positions to lon/lat (TopoJSON spec, section 2.1.3)."""
    x = y = 0
    points = []
    for dx, dy in arc:
        x, y = x + dx, y + dy
        points.append([round(x * scale[0] + translate[0], 6), round(y * scale[1] + translate[1], 6)])
    return points


def _ring(indices: list[int], arcs: list[list[list[float]]]) -> list[list[float]]:
    """Joins arcs into a ring; a negative index ~i means arc i reversed. Shared end points are kept once."""
    ring: list[list[float]] = []
    for index in indices:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2


def _oriented(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    """Outer ring clockwise, holes counter-clockwise: the orientation d3-geo (Vega) reads as the inside
    (the other way round it fills the whole globe except the municipality)."""
    out = []
    for i, ring in enumerate(rings):
        clockwise = _signed_area(ring) < 0
        out.append(ring if clockwise == (i == 0) else ring[::-1])
    return out


def municipality_outline(code: str) -> dict | None:
    """The municipality as a GeoJSON Feature (WGS84), or None if the file does not know the code."""
    topology = _topology()
    transform = topology["transform"]
    geometry = next((g for g in topology["objects"][OBJECT]["geometries"] if g["properties"].get("statcode") == code), None)
    if geometry is None:
        return None
    arcs = [_decode_arc(arc, transform["scale"], transform["translate"]) for arc in topology["arcs"]]
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    coordinates = [_oriented([_ring(ring, arcs) for ring in polygon]) for polygon in polygons]
    return {
        "type": "Feature",
        "id": code,
        "properties": {"statcode": code, "statnaam": geometry["properties"].get("statnaam"), "source": ATTRIBUTION},
        "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
    }
