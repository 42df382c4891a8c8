"""Writes seeds/reference/ref_municipalities.csv: every Dutch municipality of 2025.

Why: the loader refuses a delivery from a code that is no municipality, and every fact
joins dim_municipality, so the seed must hold all of them, not only the ones with
curated reference data.

Source: CBS's municipality boundaries of 2025 (`../shared/geo/gemeente_2025.topojson`,
properties `statcode` and `statnaam`). Rows already in the seed keep their curated
columns (province, centre, ZE-zone start and its source) exactly. For the others the
centre is the area-weighted centroid of the outer rings, decoded from the TopoJSON
arcs with its transform; province and ZE-zone start stay empty because the file
holds no province and guessing one from coordinates near a border is not reliable.

Rerun: `.venv/bin/python scripts/make_municipality_seed.py [TOPOJSON]`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "reference" / "ref_municipalities.csv"
TOPOJSON = ROOT.parent / "shared" / "geo" / "gemeente_2025.topojson"
COLUMNS = (
    "municipality_code",
    "municipality_name",
    "province_code",
    "centre_latitude",
    "centre_longitude",
    "ze_zone_start_date",
    "ze_zone_start_source",
)

Point = tuple[float, float]


def decode_arcs(topology: dict) -> list[list[Point]]:
    """Delta-decoded, de-quantised arcs as (lon, lat) points."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring: list[int], arcs: list[list[Point]]) -> list[Point]:
    """A ring from arc indices (~i is arc i reversed); shared end points are not repeated."""
    points: list[Point] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def ring_area_centroid(points: list[Point]) -> tuple[float, float, float]:
    """Signed area (shoelace) and centroid of one closed ring."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2
    if area == 0:
        xs, ys = zip(*points)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area, cx / (6 * area), cy / (6 * area)


def centre(geometry: dict, arcs: list[list[Point]]) -> tuple[float, float]:
    """(latitude, longitude): the area-weighted centroid of the outer rings."""
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    total = sx = sy = 0.0
    for polygon in polygons:
        area, cx, cy = ring_area_centroid(ring_points(polygon[0], arcs))
        total, sx, sy = total + abs(area), sx + abs(area) * cx, sy + abs(area) * cy
    return sy / total, sx / total


def municipality_rows(topology: dict, curated: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    arcs = decode_arcs(topology)
    (collection,) = topology["objects"].values()
    rows = []
    for geometry in collection["geometries"]:
        code, name = geometry["properties"]["statcode"], geometry["properties"]["statnaam"]
        if code in curated:
            rows.append(curated[code])
            continue
        lat, lon = centre(geometry, arcs)
        rows.append(
            {
                "municipality_code": code,
                "municipality_name": name,
                "province_code": "",
                "centre_latitude": f"{lat:.4f}",
                "centre_longitude": f"{lon:.4f}",
                "ze_zone_start_date": "",
                "ze_zone_start_source": "",
            }
        )
    missing = set(curated) - {r["municipality_code"] for r in rows}
    if missing:
        raise SystemExit(f"curated municipalities not in the boundaries file: {', '.join(sorted(missing))}")
    return sorted(rows, key=lambda r: r["municipality_code"])


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else TOPOJSON
    topology = json.loads(source.read_text(encoding="utf-8"))
    with open(SEED, encoding="utf-8", newline="") as handle:
        curated = {r["municipality_code"]: r for r in csv.DictReader(handle) if r["province_code"]}
    rows = municipality_rows(topology, curated)
    with open(SEED, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{SEED.relative_to(ROOT)}: {len(rows)} municipalities ({len(curated)} with curated reference data)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
