"""The exact audit of the location-day groups (T01 x T02) from a known feasible point, without LPs.

Why this exists: the generator must audit every month it writes, and the location-day groups are about
1,240 HiGHS models a 40-location month (90 % of a full audit). Their constraints have a structure the LP
does not use: every one is a flow balance, so the feasible values of a location-day are the circulations
of a small network (docs/disclosure-audit.md, "The location-day groups are a network"):

    S --x[h,T]--> hour h --x[h,k]--> in_k --y[k,T]--> out_k --y[k,f]--> fuel f --y[T,f]--> S' --y[T,T]--> S

(T01's cells x, T02's cells y; a node's balance is one of the audit's rows: T01's category total of an
hour, the T01-T02 link of a category, T02's fuel total of a category, T02's category total of a fuel.)
For a circulation p inside the bounds, the largest value of cell e = (u -> v) is
p_e + min(upper_e - p_e, the maximum flow from v to u in the residual network of p without e), and the
smallest p_e - min(p_e - lower_e, the maximum flow from u to v); both are exact (network matrices are
totally unimodular, so the LP's optimum is this flow). The generator knows one such p: the true counts.

Two steps, so that most cells cost a few vector operations:
1. a greedy flow along paths of four cells (a row, a column and the cell where they cross, in the table
   whose rows are T01's hours and T02's fuels and whose columns are the categories) proves most
   confidential cells safe at once, for every group (numpy);
2. each cell it does not prove gets the exact maximum flows (augmenting paths, stopped once `min_cell`
   is reached), all such cells of all groups at once (`batch_widths`: one shortest augmenting path a round
   in every cell's own copy of its group's network, numpy; about a third of the CPU of one flow at a time
   in Python, which tests/python/location_days_oracle.py still does as the reference the tests hold it to).
A group is certified when every confidential cell is proven safe; a group that is not has at least one
cell at risk (step 2 is exact), and goes to the LP audit, which explains and protects it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import duckdb
import numpy as np

from .. import contract as c

HOURS = len(c.HOURS)
CATEGORIES = len(c.VEHICLE_CATEGORIES) + 1  # the total last
FUELS = len(c.FUEL_TYPES) + 1  # the total last
BIG = 10**9  # "no upper bound" in integer capacities; flows stop at min_cell long before


@dataclass
class LocationDays:
    """Per location-day g: T01 as [g, hour, category] and T02 as [g, category, fuel] (totals last)."""

    keys: list[tuple[str, str]]  # (Location, Date) of each group
    true1: np.ndarray  # a feasible point (the true counts)
    low1: np.ndarray
    high1: np.ndarray
    secret1: np.ndarray  # Confidential cells
    true2: np.ndarray
    low2: np.ndarray
    high2: np.ndarray
    secret2: np.ndarray


ATTRIBUTES = ("None", "Confidential", "Impossible")  # codes 1, 2, 3 in the read (list_position); anything else 4
LAYOUT = {  # per table: its two inner dimensions and their codes in the check's order (the total last)
    "T01": (("Hour", list(c.HOURS)), ("VehicleCategory", sorted(c.VEHICLE_CATEGORIES) + [c.TOTAL])),
    "T02": (("VehicleCategory", sorted(c.VEHICLE_CATEGORIES) + [c.TOTAL]), ("FuelType", sorted(c.FUEL_TYPES) + [c.TOTAL])),
}


def cell_bounds_array(values: np.ndarray, attributes: np.ndarray, half: int, min_cell: int) -> tuple[np.ndarray, ...]:
    """`constraints.cell_bounds` with the min-cell rule, for arrays: (lower, upper, confidential)."""
    return _bounds(values, attributes == "None", attributes == "Impossible", attributes == "Confidential", half, min_cell)


def _bounds(values, published, impossible, confidential, half: int, min_cell: int) -> tuple[np.ndarray, ...]:
    value = np.where(published, np.nan_to_num(values.astype(float)), 0.0)
    low = np.where(published, np.maximum(0.0, value - half), 0.0)
    high = np.where(published, value + half, np.inf)
    low = np.where(published & (value > 0), np.maximum(low, min_cell), low)
    if half < min_cell:
        high = np.where(published & (value == 0), 0.0, high)
    return np.where(impossible, 0.0, low), np.where(impossible, 0.0, high), confidential


def _read_table(con, cells: str, observations: str, code: str, half: int, min_cell: int):
    """One table's cells as (groups, rows, columns) arrays (true, low, high, confidential) and its groups' keys; None
    if it is not a full cube per location-day.

    Why this shape: the generator numbers its cells (`cell_id`) in the order of their dimensions and each
    observation's `Id` is its cell's number (one measure a table), so the observations join their cells on one
    integer and come out in order without sorting text; the two inner dimensions come back as small codes, which
    place each cell in the check's layout (totals last) and prove that every location-day is the same full cube.
    """
    dims = c.OBSERVATION_TABLES[code].dimensions
    (outer, outer_codes), (inner, inner_codes) = LAYOUT[code]
    same = " and ".join(f"o.{d} = c.{d}" for d in dims)
    got = con.execute(
        f"""select c.passages, o.Value::double as Value,
                   coalesce(list_position({list(ATTRIBUTES)!r}, o.ValueAttribute), 4)::tinyint as attribute,
                   coalesce(list_position({outer_codes!r}, c.{outer}), 0)::smallint as outer_code,
                   coalesce(list_position({inner_codes!r}, c.{inner}), 0)::smallint as inner_code,
                   ({same}) as same
            from {cells} c join {observations} o on o.Id = c.cell_id order by c.cell_id"""
    ).fetchnumpy()
    per_group = len(outer_codes) * len(inner_codes)
    rows = len(got["passages"])
    if not rows or rows % per_group or not np.ma.filled(got["same"], False).all():
        return None
    groups = rows // per_group
    place = ((got["outer_code"] - 1) * len(inner_codes) + got["inner_code"] - 1).reshape(groups, per_group)
    if (got["outer_code"] == 0).any() or (got["inner_code"] == 0).any() or not (place == place[0]).all():
        return None
    if not (np.sort(place[0]) == np.arange(per_group)).all():
        return None
    order = np.argsort(place[0])
    shape = (groups, len(outer_codes), len(inner_codes))

    def arranged(values: np.ndarray) -> np.ndarray:  # in C order: the check's steps run several times slower on strides
        return np.ascontiguousarray(values.reshape(groups, per_group)[:, order]).reshape(shape)

    value = np.ma.filled(got["Value"], np.nan)  # null Value: nan
    attribute = got["attribute"]
    low, high, secret = _bounds(value, attribute == 1, attribute == 3, attribute == 2, half, min_cell)
    keys = con.execute(
        f"""select Location, Date from {cells} where {outer} = '{outer_codes[0]}' and {inner} = '{inner_codes[0]}'
            order by cell_id"""
    ).fetchall()
    if len(keys) != groups:
        return None
    return [(str(loc), str(day)) for loc, day in keys], [arranged(a) for a in (got["passages"].astype(float), low, high, secret)]


def read_location_days(
    con: duckdb.DuckDBPyConnection, cells: dict[str, str], observations: dict[str, str], min_cell: int, rounding_base: int
) -> LocationDays | None:
    """The generator's T01/T02 cell grids (true `passages`) joined to what it publishes; None if not full cubes."""
    half = rounding_base // 2
    t01 = _read_table(con, cells["T01"], observations["T01"], "T01", half, min_cell)
    t02 = _read_table(con, cells["T02"], observations["T02"], "T02", half, min_cell)
    if t01 is None or t02 is None or t01[0] != t02[0]:
        return None
    return LocationDays(t01[0], *t01[1], *t02[1])


def feasible(days: LocationDays) -> np.ndarray:
    """Per group: the point is inside every bound and satisfies every row (else nothing is certified there)."""
    p1, p2 = days.true1, days.true2
    inside = ((p1 >= days.low1) & (p1 <= days.high1)).all(axis=(1, 2)) & ((p2 >= days.low2) & (p2 <= days.high2)).all(axis=(1, 2))
    t01_rows = (p1[:, :, :-1].sum(axis=2) == p1[:, :, -1]).all(axis=1)
    link = (p1.sum(axis=1) == p2[:, :, -1]).all(axis=1)
    t02_rows = (p2[:, :, :-1].sum(axis=2) == p2[:, :, -1]).all(axis=1)
    t02_columns = (p2[:, :-1, :].sum(axis=1) == p2[:, -1, :]).all(axis=1)
    return inside & t01_rows & link & t02_rows & t02_columns


# ---- step 1: greedy four-cell paths in the hours-and-fuels x categories table ----


def _largest_first(values: np.ndarray) -> np.ndarray:
    """Per row, the positions of `values` largest first, ties in order: a stable sort of -values.

    Sorted as one unique key per entry (value, then position) by the default sort, about twice as fast as the
    stable sort on these short rows; the key is exact for whole values below 2**40 (counts and their rooms;
    larger ones and inf count as 2**40, far more than any path needs, ties kept in order). Any order gives a
    feasible flow, so a key that were not exact would cost proofs, never correctness.
    """
    key = np.minimum(values, 2.0**40)
    key *= -64
    key += np.arange(values.shape[1])
    return np.argsort(key, axis=1)


def _greedy_flow(first, first_at, room, shift, last, cross, budget0, budget_col, need) -> np.ndarray:
    """A feasible flow source -> row i -> column j -> sink through three layers of capacities, per cell.

    Paths through a row of the other table (`cross`) also move a T02 category total: they are capped by
    that total's slack (`budget0` for the cell's own column, `budget_col` for the other column).
    The middle layer, the crossings of a cell's i-th row with its other columns, is `room` at the flat
    positions `first_at[cell, i] + shift[cell]` (the crossings are in the row of the i-th first cell).
    Rows are taken largest capacity first; a cell stops as soon as its flow reaches `need`.
    Within a row the columns are filled in order, so each column's flow is what the row's shared
    capacity (its first cell, the cell's remaining need and, on a cross row, `budget0`) leaves after
    the columns before it: a cumulative sum instead of a loop over the columns.
    Only the cells still filling are looked at, and their per-cell state (`left`, `last`, the budgets,
    `shift`) is kept compacted to them: a cell that stops is dropped once instead of every array being
    gathered and scattered through an index at every step (the same flows, about a fifth less CPU).
    """
    total = np.zeros(len(first))
    cells = np.nonzero(need > 0)[0]  # positions in the inputs of the cells still filling
    left = need[cells].astype(float)  # what each of them still needs
    last, budget0, budget_col, shift = last[cells], budget0[cells], budget_col[cells], shift[cells]  # compacted copies
    order = _largest_first(first[cells])  # only the cells that need flow are sorted
    slot = np.arange(len(cells))  # each cell's row in `order`
    for step in range(first.shape[1]):
        i = order[slot, step]
        a = first[cells, i]
        going = a > 0  # the rows are sorted: a cell with a = 0 here is done
        if not going.all():
            cells, slot, i, a, left = cells[going], slot[going], i[going], a[going], left[going]
            last, budget0, budget_col, shift = last[going], budget0[going], budget_col[going], shift[going]
        if not len(cells):
            break
        cr, mid = cross[cells, i], room.take(first_at[cells, i][:, None] + shift)
        on_cross = cr[:, None]  # in place below: a step is some 20 operations on small arrays, allocations count
        shared = np.minimum(a, left)
        np.minimum(shared, budget0, out=shared, where=cr)
        cap = np.minimum(mid, last)
        np.minimum(cap, budget_col, out=cap, where=on_cross)
        np.maximum(cap, 0.0, out=cap)
        f = np.zeros_like(cap)  # first what the columns before each one took, had they all been full
        np.cumsum(cap[:, :-1], axis=1, out=f[:, 1:])
        np.subtract(shared[:, None], f, out=f)
        np.maximum(f, 0.0, out=f)
        np.minimum(f, cap, out=f)
        last -= f
        moved = f.sum(axis=1)
        left -= moved
        total[cells] += moved
        np.subtract(budget0, moved, out=budget0, where=cr)
        np.subtract(budget_col, f, out=budget_col, where=on_cross)
        going = left > 0
        if not going.all():
            cells, slot, left = cells[going], slot[going], left[going]
            last, budget0, budget_col, shift = last[going], budget0[going], budget_col[going], shift[going]
    return total


def _paths_one_way(room, back, total_room, total_back, at, need) -> np.ndarray:
    """Flow of the four-cell paths that move each cell of B one way: `room` that way, `back` the other.

    B up by t needs the other row's cell and the own row's other cell down and their crossing up; moving
    B down is the same with the two rooms (and the T02 totals' rooms) swapped, so both go through here.
    `at` holds the flat positions of the path cells (`_PathCells`).
    """
    room, back, total_room, total_back = room.ravel(), back.ravel(), total_room.ravel(), total_back.ravel()
    asked = np.nonzero(need > 0)[0]  # the second flow is asked of few cells: gather the paths of those only
    if len(asked) < len(need):
        at = _PathCells(*(getattr(at, field.name)[asked] for field in fields(_PathCells)))
    flow = np.zeros(len(need))
    flow[asked] = _greedy_flow(
        back.take(at.first),
        at.first,
        room,
        at.shift,
        back.take(at.last),
        at.cross,
        np.where(at.d0 > 0, total_room.take(at.total0), total_back.take(at.total0)),
        np.where(at.d_col > 0, total_room.take(at.total_col), total_back.take(at.total_col)),
        need[asked],
    )
    return flow


@dataclass
class _PathCells:
    """Flat positions (in the groups x rows x categories table) of the cells of every four-cell path of a chunk."""

    first: np.ndarray  # the other row's cell in the own column: (cells, other rows)
    shift: np.ndarray  # from a first cell to its row's crossings with the other columns: (cells, other columns)
    last: np.ndarray  # the own row's cell in the other column: (cells, other columns)
    cross: np.ndarray  # the other row is of the other table
    d0: np.ndarray  # y[k,T] moves by d0 per unit of a cross path moving this cell up in B
    d_col: np.ndarray  # and y[k',T] by d_col
    total0: np.ndarray  # flat position of y[k,T] in the groups x categories totals
    total_col: np.ndarray


def greedy_widths(days: LocationDays, min_cell: int, chunk: int = 4096) -> tuple[np.ndarray, ...]:
    """(group, row, column, width proven, the part of it that moved the cell up) of every confidential cell
    of the hours-and-fuels table (up and down as the cell's value moves, not B's).

    The table Z: rows T01's hours then T02's fuels (without T02's fuel total), columns the categories with
    the total last; Z[h, k] = x[h, k], Z[f, k] = y[k, f]. Its rows and columns balance once the fuel rows
    and the total column change sign (B = sign * Z): a T01 row is "hour total = its categories", a fuel row
    "fuel total = its categories", a column "T01's hours = T02's fuels" (both equal y[k,T]). Moving a
    cell up in B by t, one row down and one column down by t and their crossing up by t keeps every
    balance; when the path's two rows are of different tables it also moves y[k,T] of both columns.
    """
    fuels = FUELS - 1
    true = np.concatenate([days.true1, days.true2[:, :, :fuels].transpose(0, 2, 1)], axis=1)
    low = np.concatenate([days.low1, days.low2[:, :, :fuels].transpose(0, 2, 1)], axis=1)
    high = np.concatenate([days.high1, days.high2[:, :, :fuels].transpose(0, 2, 1)], axis=1)
    secret = np.concatenate([days.secret1, days.secret2[:, :, :fuels].transpose(0, 2, 1)], axis=1)
    rows = true.shape[1]
    row_sign = np.where(np.arange(rows) < HOURS, 1.0, -1.0)
    column_sign = np.where(np.arange(CATEGORIES) < CATEGORIES - 1, 1.0, -1.0)
    sign = row_sign[:, None] * column_sign[None, :]
    up = np.where(sign > 0, high - true, true - low)  # room to move B up
    down = np.where(sign > 0, true - low, high - true)
    total_up = days.high2[:, :, -1] - days.true2[:, :, -1]  # y[k,T]'s room
    total_down = days.true2[:, :, -1] - days.low2[:, :, -1]
    fuel_row = np.arange(rows) >= HOURS
    others_r = np.array([[x for x in range(rows) if x != r] for r in range(rows)])
    others_c = np.array([[x for x in range(CATEGORIES) if x != k] for k in range(CATEGORIES)])
    other_row_offset = others_r * CATEGORIES  # per row: from its group's first cell to its other rows' first cells
    other_row_crosses = fuel_row[others_r] != fuel_row[:, None]  # per row: its other rows of the other table

    def paths(g: np.ndarray, r: np.ndarray, k: np.ndarray) -> _PathCells:
        okk = others_c[k]
        g1 = g[:, None]
        return _PathCells(
            first=other_row_offset[r] + (g * rows * CATEGORIES + k)[:, None],
            shift=okk - k[:, None],
            last=(g1 * rows + r[:, None]) * CATEGORIES + okk,
            cross=other_row_crosses[r],
            d0=row_sign[r] * column_sign[k],
            d_col=-row_sign[r][:, None] * column_sign[okk],
            total0=g * CATEGORIES + k,
            total_col=g1 * CATEGORIES + okk,
        )

    gi, ri, ci = np.nonzero(secret)
    widths, ups = np.zeros(len(gi)), np.zeros(len(gi))
    for s in range(0, len(gi), chunk):
        g, r, k = gi[s : s + chunk], ri[s : s + chunk], ci[s : s + chunk]
        at = paths(g, r, k)
        own_up, own_down = up[g, r, k], down[g, r, k]
        # B up first, for all of min_cell (a flow beyond the cell's own room moves nothing, so it stops there too);
        # B down only for the cells still short, for the rest. Asking the first flow for only what the room down
        # could not give made every cell run both flows (and some the first again): the same cells proven on
        # months 03 and 07, about a tenth less CPU.
        moved_up = np.minimum(own_up, _paths_one_way(up, down, total_up, total_down, at, np.minimum(min_cell, own_up)))
        need_down = np.where(moved_up < min_cell, np.minimum(min_cell - moved_up, own_down), 0.0)
        moved_down = np.minimum(own_down, _paths_one_way(down, up, total_down, total_up, at, need_down))
        widths[s : s + chunk] = moved_up + moved_down
        ups[s : s + chunk] = np.where(sign[r, k] > 0, moved_up, moved_down)
    return gi, ri, ci, widths, ups


# ---- step 2: exact maximum flows in the location-day network ----

NODE_S, NODE_S2 = 0, 1 + HOURS + 2 * (CATEGORIES - 1) + (FUELS - 1)


def _hour(h: int) -> int:
    return 1 + h


def _in(k: int) -> int:
    return 1 + HOURS + k


def _out(k: int) -> int:
    return 1 + HOURS + (CATEGORIES - 1) + k


def _fuel(f: int) -> int:
    return 1 + HOURS + 2 * (CATEGORIES - 1) + f


NODES = NODE_S2 + 1


def _arcs() -> tuple[np.ndarray, np.ndarray]:
    """(tail, head) of every cell's arc: T01's cells [hour, category] then T02's [category, fuel], flattened."""
    tail, head = [], []
    for h in range(HOURS):
        for k in range(CATEGORIES):
            tail.append(NODE_S if k == CATEGORIES - 1 else _hour(h))
            head.append(_hour(h) if k == CATEGORIES - 1 else _in(k))
    for k in range(CATEGORIES):
        for f in range(FUELS):
            total_k, total_f = k == CATEGORIES - 1, f == FUELS - 1
            if total_k and total_f:
                tail.append(NODE_S2), head.append(NODE_S)
            elif total_k:
                tail.append(_fuel(f)), head.append(NODE_S2)
            elif total_f:
                tail.append(_in(k)), head.append(_out(k))
            else:
                tail.append(_out(k)), head.append(_fuel(f))
    return np.array(tail), np.array(head)


TAIL, HEAD = _arcs()


# ---- step 2 for every cell at once: the same maximum flows, one augmenting path a round for all of them (numpy) ----

ARC_FROM, ARC_TO = np.concatenate([TAIL, HEAD]), np.concatenate([HEAD, TAIL])  # arc a < len(TAIL): cell a up; else down
REVERSE = np.concatenate([np.arange(len(TAIL)) + len(TAIL), np.arange(len(TAIL))])
ARC_ID = np.full((NODES, NODES), -1)
ARC_ID[ARC_FROM, ARC_TO] = np.arange(len(ARC_FROM))  # one cell per pair of nodes, so one arc per ordered pair
SHIFTS = np.arange(NODES, dtype=np.uint64)
NODE_BIT = np.left_shift(np.uint64(1), SHIFTS)
BY_FROM, BY_TO = np.argsort(ARC_FROM, kind="stable"), np.argsort(ARC_TO, kind="stable")
FROM_STARTS = np.searchsorted(ARC_FROM[BY_FROM], np.arange(NODES))
TO_STARTS = np.searchsorted(ARC_TO[BY_TO], np.arange(NODES))
BATCH = 4096  # flows a batch: bounds the (flows x arcs) arrays to a few MB


def _lowest_node(masks: np.ndarray) -> np.ndarray:
    """The node of each mask's lowest set bit."""
    lowest = masks & (~masks + np.uint64(1))
    return np.frexp(lowest.astype(float))[1] - 1


def _masks(capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per flow and node: the nodes it reaches by an arc with residual capacity left, and the nodes that reach it."""
    positive = capacity > 0
    heads = np.where(positive, NODE_BIT[ARC_TO], np.uint64(0))
    tails = np.where(positive, NODE_BIT[ARC_FROM], np.uint64(0))
    return np.bitwise_or.reduceat(heads[:, BY_FROM], FROM_STARTS, axis=1), np.bitwise_or.reduceat(
        tails[:, BY_TO], TO_STARTS, axis=1
    )


def _set_bits(masks: np.ndarray, row: np.ndarray, node: np.ndarray, bit: np.ndarray, on: np.ndarray) -> None:
    """Sets (or clears) one bit of masks[row, node] per entry; no (row, node) may repeat."""
    masks[row, node] = np.where(on, masks[row, node] | bit, masks[row, node] & ~bit)


def _batch_max_flow(
    capacity: np.ndarray, reach_all: np.ndarray, into_all: np.ndarray, source: np.ndarray, sink: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """min(limit, maximum flow source -> sink) of many independent residual networks (rows of `capacity`, per arc).

    Edmonds-Karp for all of them at once: a round finds one shortest augmenting path in every network still
    short of its limit (a breadth-first search whose levels are bit masks of nodes, the next level the union
    of the masks of the nodes reached) and sends its bottleneck; a network whose search fails or whose limit
    is reached drops out. The value is exact whatever paths are taken. Changes `capacity` and its masks
    (`_masks`: `reach_all`, `into_all`).
    """
    flow = np.zeros(len(limit), dtype=capacity.dtype)
    active = np.nonzero(limit > 0)[0]
    for _ in range(int(limit.max(initial=0))):  # every round sends at least 1 more in every network it keeps
        if not len(active):
            break
        reach, into = reach_all[active], into_all[active]
        target = NODE_BIT[sink[active]]
        frontier = NODE_BIT[source[active]]
        visited = frontier.copy()
        levels = [frontier]
        live = np.arange(len(active))  # the searches still going: sink not reached, last level not empty
        while len(live):
            inside = ((frontier[:, None] >> SHIFTS) & np.uint64(1)).astype(bool)
            frontier = np.bitwise_or.reduce(np.where(inside, reach[live], np.uint64(0)), axis=1) & ~visited[live]
            visited[live] |= frontier
            levels.append(np.zeros_like(visited))
            levels[-1][live] = frontier
            going = (frontier != 0) & ((frontier & target[live]) == 0)
            live, frontier = live[going], frontier[going]
        found = np.nonzero(visited & target)[0]
        if not len(found):
            break
        on_level = np.array([(level[found] & target[found]) != 0 for level in levels])
        depth = on_level.argmax(axis=0)  # the level the sink was reached on
        node = sink[active[found]].copy()
        path = np.full((len(found), depth.max()), -1)
        for step in range(depth.max(), 0, -1):  # back from the sink, one level at a time
            at = np.nonzero(depth >= step)[0]
            previous = _lowest_node(into[found[at], node[at]] & levels[step - 1][found[at]])
            path[at, step - 1] = ARC_ID[previous, node[at]]
            node[at] = previous
        on_path = path >= 0
        along = capacity[active[found][:, None], np.where(on_path, path, 0)]
        bottleneck = np.where(on_path, along, np.iinfo(capacity.dtype).max).min(axis=1)
        bottleneck = np.minimum(bottleneck, limit[active[found]] - flow[active[found]])
        which, position = np.nonzero(on_path)  # a shortest path uses an arc at most once and never both ways
        arc, sent = path[which, position], bottleneck[which]
        row = active[found][which]
        capacity[row, arc] -= sent
        capacity[row, REVERSE[arc]] += sent
        for changed in (arc, REVERSE[arc]):  # a path's arcs leave distinct nodes and enter distinct nodes
            _set_bits(reach_all, row, ARC_FROM[changed], NODE_BIT[ARC_TO[changed]], capacity[row, changed] > 0)
            _set_bits(into_all, row, ARC_TO[changed], NODE_BIT[ARC_FROM[changed]], capacity[row, changed] > 0)
        flow[active[found]] += bottleneck
        active = active[found][flow[active[found]] < limit[active[found]]]
    return flow


def batch_widths(days: LocationDays, groups: np.ndarray, cells: np.ndarray, known: np.ndarray, min_cell: int) -> np.ndarray:
    """min(width, min_cell) of each (group, flattened cell): the exact widths (tests/python/location_days_oracle.py), all cells at once.

    `known`: (up, down) each cell is already known to move (step 1's paths; only the way down is used): the flow up
    needs only `min_cell` minus the known way down, and the flow down runs only for the cells still short.
    """
    count = len(days.keys)
    true = np.concatenate([days.true1.reshape(count, -1), days.true2.reshape(count, -1)], axis=1)
    low = np.concatenate([days.low1.reshape(count, -1), days.low2.reshape(count, -1)], axis=1)
    high = np.concatenate([days.high1.reshape(count, -1), days.high2.reshape(count, -1)], axis=1)
    rooms = np.concatenate([np.where(np.isinf(high), BIG, high - true), true - low], axis=1).astype(np.int32)
    reach, into = _masks(rooms)
    widths = np.zeros(len(cells), dtype=np.int64)
    for s in range(0, len(cells), BATCH):
        g, e = groups[s : s + BATCH], cells[s : s + BATCH]
        start, start_reach, start_into = rooms[g], reach[g], into[g]
        rows = np.arange(len(e))
        for arc in (e, REVERSE[e]):  # the cell's own arcs are not part of its flows
            start[rows, arc] = 0
            _set_bits(start_reach, rows, ARC_FROM[arc], NODE_BIT[ARC_TO[arc]], False)
            _set_bits(start_into, rows, ARC_TO[arc], NODE_BIT[ARC_FROM[arc]], False)
        own_up, own_down = rooms[g, e], rooms[g, REVERSE[e]]
        down_known = known[s : s + BATCH, 1].astype(np.int64)
        up = _batch_max_flow(
            start.copy(),
            start_reach.copy(),
            start_into.copy(),
            HEAD[e],
            TAIL[e],
            np.clip(np.minimum(min_cell - down_known, own_up), 0, None),
        )
        short = np.nonzero(up + down_known < min_cell)[0]
        down = np.zeros_like(up)
        down[short] = _batch_max_flow(
            start[short],
            start_reach[short],
            start_into[short],
            TAIL[e[short]],
            HEAD[e[short]],
            np.clip(np.minimum(min_cell - up[short], own_down[short]), 0, None),
        )
        widths[s : s + BATCH] = np.where(up + down_known >= min_cell, min_cell, up + down)
    return widths


@dataclass
class Certificate:
    """What the location-day check found: the groups it could not certify (cells at risk, or no feasible point)."""

    groups: int
    confidential: int
    proven_by_paths: int
    exact_flows: int  # cells that step 2 checked (every cell step 1 left, in every group with a feasible point)
    uncertified: list[int]


def unproven_cells(days: LocationDays, min_cell: int) -> tuple[int, dict[int, list[tuple[float, int, float, float]]]]:
    """Step 1: (cells the paths proved safe, per group the rest as (width proved, flat cell, up, down)).

    `up` and `down`: how far the paths moved the cell's value each way, what step 2 builds on.
    """
    gi, ri, ci, widths, ups = greedy_widths(days, min_cell)
    pending: dict[int, list[tuple[float, int, float, float]]] = {}
    fuels = FUELS - 1
    unproven = widths < min_cell
    for g, r, k, w, up in zip(gi[unproven], ri[unproven], ci[unproven], widths[unproven], ups[unproven]):
        flat = r * CATEGORIES + k if r < HOURS else HOURS * CATEGORIES + k * FUELS + (r - HOURS)
        pending.setdefault(int(g), []).append((float(w), int(flat), float(up), float(w - up)))
    for g, k in zip(*np.nonzero(days.secret2[:, :, -1])):  # T02's category totals: not in the table Z
        pending.setdefault(int(g), []).append((0.0, HOURS * CATEGORIES + int(k) * FUELS + fuels, 0.0, 0.0))
    return int((widths >= min_cell).sum()), pending


def certify(days: LocationDays, min_cell: int) -> Certificate:
    """Steps 1 and 2 over every group; see the module docstring."""
    groups = len(days.keys)
    ok = feasible(days)
    proven, pending = unproven_cells(days, min_cell)
    uncertified = set(np.nonzero(~ok)[0].tolist())
    checked = [(g, flat, up, down) for g, cells in sorted(pending.items()) if g not in uncertified for _, flat, up, down in cells]
    if checked:
        g, flat, up, down = (np.array(column) for column in zip(*checked))
        widths = batch_widths(days, g.astype(np.int64), flat.astype(np.int64), np.stack([up, down], axis=1), min_cell)
        uncertified.update(g[widths < min_cell].tolist())
    flows = len(checked)
    confidential = int(days.secret1.sum() + days.secret2.sum())
    return Certificate(groups, confidential, proven, flows, sorted(uncertified))


# ---- the same check inside `anpr audit` (and the load's audit): one LP gives the feasible point ----

CELLS = HOURS * CATEGORIES + CATEGORIES * FUELS
ROWS = HOURS + FUELS + 2 * CATEGORIES  # T01 per hour, T02 per fuel and per category, the link per category
_HOUR = {h: i for i, h in enumerate(c.HOURS)}
_CATEGORY = {k: i for i, k in enumerate(sorted(c.VEHICLE_CATEGORIES) + [c.TOTAL])}
_FUEL = {f: i for i, f in enumerate(sorted(c.FUEL_TYPES) + [c.TOTAL])}


def _layout(system, variables: list[int]) -> tuple[tuple[str, str], list[int]] | None:
    """(Location, Date) and each variable's flat position, when the group is one full location-day; else None."""
    key, flat = None, []
    for var in variables:
        if len(system.cells[var]) != 1:
            return None
        cell = system.cells[var][0]
        if cell.table == "T01":
            location, date, hour, category = cell.dims
            h, k = _HOUR.get(hour), _CATEGORY.get(category)
            position = None if h is None or k is None else h * CATEGORIES + k
        elif cell.table == "T02":
            location, date, category, fuel = cell.dims
            k, f = _CATEGORY.get(category), _FUEL.get(fuel)
            position = None if k is None or f is None else HOURS * CATEGORIES + k * FUELS + f
        else:
            return None
        if position is None or key not in (None, (location, date)):
            return None
        key = (location, date)
        flat.append(position)
    return (key, flat) if sorted(flat) == list(range(CELLS)) else None


_WORK: tuple | None = None  # (system, groups, min_cell) of `certified_groups`, inherited by forked workers, never pickled
GROUPS_PER_TASK = 64  # location-days per worker task: enough for the vectorised steps, small enough to balance two cores


def certified_groups(system, groups: list[tuple[list[int], list[int]]], min_cell: int, jobs: int = 1) -> set[int]:
    """Positions in `groups` of the location-day groups the network check certifies (no cell at risk).

    Only a group that is exactly one full location-day whose every row is an equality (all hours, categories
    and fuels present: the network of the module docstring, nothing more and nothing less) is checked; its
    feasible point is one LP solution (a vertex of a network LP is whole, and `feasible` checks it after
    rounding). Every other group, and every group not certified, is left to the LP audit.
    With jobs > 1 the groups are checked in forked processes, `GROUPS_PER_TASK` at a time (each group's
    answer depends on that group alone, so the split changes nothing).
    """
    global _WORK
    positions = list(range(len(groups)))
    if jobs <= 1 or len(groups) <= GROUPS_PER_TASK:
        return _certified(system, groups, positions, min_cell)
    import multiprocessing

    tasks = [positions[i : i + GROUPS_PER_TASK] for i in range(0, len(positions), GROUPS_PER_TASK)]
    _WORK = (system, groups, min_cell)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return set().union(*pool.imap_unordered(_certified_task, tasks))
    finally:
        _WORK = None


def _certified_task(positions: list[int]) -> set[int]:
    system, groups, min_cell = _WORK
    return _certified(system, groups, positions, min_cell)


def _certified(system, groups: list[tuple[list[int], list[int]]], wanted: list[int], min_cell: int) -> set[int]:
    """`certified_groups` for the groups at the positions `wanted`, in this process."""
    from .solve import ComponentModel  # solve imports this module's callers; keep the import local

    positions, layouts, points = [], [], []
    for position in wanted:
        variables, rows = groups[position]
        layout = location_day_layout(system, variables, rows)
        if layout is None:
            continue
        status, x = ComponentModel(system, variables, rows).extreme(np.zeros(len(variables)), first=True)
        if status != "optimal":
            continue
        positions.append(position)
        layouts.append(layout)
        points.append(x)
    if not positions:
        return set()
    variables = [groups[position][0] for position in positions]
    days = _days(
        layouts,
        points,
        [[system.lower[v] for v in group] for group in variables],
        [[system.upper[v] for v in group] for group in variables],
        [[system.is_confidential(v) for v in group] for group in variables],
    )
    uncertified = set(certify(days, min_cell).uncertified)
    return {position for i, position in enumerate(positions) if i not in uncertified}


def _days(layouts: list, points: list, lows: list, highs: list, secrets: list) -> LocationDays:
    """LocationDays from per-group values in the model's column order (`layouts`: `_layout`'s answers)."""
    true, low, high = (np.zeros((len(layouts), CELLS)) for _ in range(3))
    secret = np.zeros((len(layouts), CELLS), dtype=bool)
    for i, (_, flat) in enumerate(layouts):
        true[i, flat] = np.round(points[i])
        low[i, flat] = lows[i]
        high[i, flat] = highs[i]
        secret[i, flat] = secrets[i]
    split = HOURS * CATEGORIES
    shape1, shape2 = (len(layouts), HOURS, CATEGORIES), (len(layouts), CATEGORIES, FUELS)
    return LocationDays(
        [key for key, _ in layouts],
        *(array[:, :split].reshape(shape1) for array in (true, low, high)),
        secret[:, :split].reshape(shape1),
        *(array[:, split:].reshape(shape2) for array in (true, low, high)),
        secret[:, split:].reshape(shape2),
    )


def location_day_layout(system, variables: list[int], rows: list[int]):
    """`_layout` of a group that is one full location-day with every row an equality (the network); else None."""
    if len(variables) != CELLS or len(rows) != ROWS:
        return None
    if any(system.rows[r].lower != 0 or system.rows[r].upper != 0 for r in rows):
        return None
    return _layout(system, variables)
