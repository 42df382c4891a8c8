"""The location-day network's exact widths one cell and one flow at a time: the oracle `batch_widths` is held to.

Why keep it: step 2 of `anpr_warehouse.audit.location_days` (`batch_widths`) runs every cell's maximum flows at
once in numpy; this is the plain version it replaced (augmenting shortest paths in Python, per cell), moved
here unchanged from the product module, where nothing but the tests called it.
"""

from __future__ import annotations

import numpy as np

from anpr_warehouse.audit.location_days import BIG, HEAD, NODES, TAIL, LocationDays


def _neighbours() -> list[list[int]]:
    ends: list[set[int]] = [set() for _ in range(NODES)]
    for u, v in zip(TAIL.tolist(), HEAD.tolist()):
        ends[u].add(v)
        ends[v].add(u)
    return [sorted(e) for e in ends]


NEIGHBOURS = _neighbours()


def _max_flow(capacity: list[list[int]], source: int, sink: int, limit: int) -> int:
    """Augmenting shortest paths (Edmonds-Karp) until `limit`; changes `capacity` (pass a copy)."""
    flow = 0
    while flow < limit:
        parent = [-1] * NODES
        parent[source] = source
        queue = [source]
        for u in queue:
            row = capacity[u]
            for v in NEIGHBOURS[u]:
                if parent[v] < 0 and row[v] > 0:
                    parent[v] = u
                    queue.append(v)
            if parent[sink] >= 0:
                break
        if parent[sink] < 0:
            break
        bottleneck, v = limit - flow, sink
        while v != source:
            bottleneck = min(bottleneck, capacity[parent[v]][v])
            v = parent[v]
        v = sink
        while v != source:
            capacity[parent[v]][v] -= bottleneck
            capacity[v][parent[v]] += bottleneck
            v = parent[v]
        flow += bottleneck
    return flow


def exact_widths(days: LocationDays, group: int, cells: list[int], min_cell: int) -> list[int]:
    """min(width, min_cell) of each flattened cell of one group: exact, from the network's maximum flows, one cell
    and one flow at a time (the plain reference that `batch_widths`, which step 2 runs, is tested against)."""
    true = np.concatenate([days.true1[group].ravel(), days.true2[group].ravel()]).astype(np.int64)
    low = np.concatenate([days.low1[group].ravel(), days.low2[group].ravel()])
    high = np.concatenate([days.high1[group].ravel(), days.high2[group].ravel()])
    room_up = np.where(np.isinf(high), BIG, high - true).astype(np.int64).tolist()
    room_down = (true - low).astype(np.int64).tolist()
    dense = np.zeros((NODES, NODES), dtype=np.int64)
    np.add.at(dense, (TAIL, HEAD), room_up)
    np.add.at(dense, (HEAD, TAIL), room_down)
    widths = []
    for e in cells:
        u, v = int(TAIL[e]), int(HEAD[e])
        residual = dense.tolist()
        residual[u][v] = residual[v][u] = 0  # e's own arcs are not part of its flows
        moved_up = _max_flow([row[:] for row in residual], v, u, min(min_cell, room_up[e]))
        widths.append(moved_up + _max_flow(residual, u, v, min(min_cell - moved_up, room_down[e])))
    return widths
