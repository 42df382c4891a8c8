"""Small geometry for the map page (no spatial extension offline)."""

from __future__ import annotations


def convex_hull(points: list[tuple[float, float]]) -> list[list[float]]:
    """Counter-clockwise convex hull (Andrew's monotone chain), as [x, y] lists for GeoJSON."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return [list(p) for p in pts]

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return [list(p) for p in lower[:-1] + upper[:-1]]
