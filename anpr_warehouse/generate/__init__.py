"""`anpr generate`: realistic, deterministic CBS deliveries in either layout."""

from __future__ import annotations

import calendar
import hashlib
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from .. import contract as c
from ..reference import municipality as lookup_municipality
from . import sdc
from .audit_pass import protect_observations
from .traffic import DST_HOUR, dst_dates, month_dates, simulate_month
from .writers import write_legacy, write_v1, zip_folder

LAYOUTS = ("v1", "legacy")
PROTECTION_ENV = "ANPR_GENERATE_PROTECTION"  # the default protection; the test suite sets "linked" (the audit costs seconds)


@dataclass(frozen=True)
class GenerateRequest:
    municipality: str
    year: int
    month: int
    layout: str = "v1"
    seed: int = 1
    locations: int = 12
    version: int = 1
    min_cell: int = 10
    rounding_base: int = 5
    as_zip: bool = False
    totals: str = "cube"  # "nested": T03 and T04 hold only the nested totals (sdc.total_sets)
    # "table": each table on its own, as CBS protects (the audit finds cells at risk across tables);
    # "linked": secondary suppression across the linked tables (sdc.suppress_linked), fast;
    # "audited": linked, then the audit's greedy extra suppression until no cell is at risk (v1; audit_pass).
    protection: str = field(default_factory=lambda: os.environ.get(PROTECTION_ENV, "audited"))


def _rng(request: GenerateRequest) -> np.random.Generator:
    """One stream per (seed, municipality, month): months differ, reruns do not.

    Neither the layout nor the version is part of the key: a legacy and a v1 delivery
    with the same seed describe the same traffic, and a correction is the same month
    with one camera recalibrated (see `_recalibrate`).
    """
    key = f"{request.seed}|{request.municipality}|{request.year}-{request.month:02d}"
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def protected_observations(con: duckdb.DuckDBPyConnection, request: GenerateRequest):
    """Simulates the month and applies CBS disclosure control; returns (traffic, table -> relation name)."""
    muni = lookup_municipality(request.municipality)
    traffic = simulate_month(muni, request.year, request.month, request.locations, _rng(request))
    if request.version > 1:
        traffic = _recalibrate(traffic, traffic.locations[0].identifier, 1 + 0.06 * (request.version - 1))
    con.register("src_hourly", traffic.hourly)
    con.register("src_by_fuel", traffic.by_fuel)
    con.register("src_vehicles", traffic.vehicles)
    lists = c.code_lists(request.year)
    grid = {cl.dimension: list(cl.identifiers) for cl in lists.values() if cl.identifiers is not None}
    grid["Location"] = [x.identifier for x in traffic.locations]
    grid["Zone"] = [z.identifier for z in traffic.zones]
    grid["Date"] = [d.isoformat() for d in month_dates(request.year, request.month)]  # T01/T02 hold every day
    grid["Hour"] = list(c.HOURS)
    tables = request_tables(request.layout)
    specs = [
        sdc.TableSpec(
            c.OBSERVATION_TABLES[code],
            source={"T01": "src_hourly", "T02": "src_by_fuel"}.get(code, "src_vehicles"),
            from_vehicles=code not in ("T01", "T02"),
            impossible_sql=_impossible_sql(code, request),
            unknown_vehicles_sql=sdc.UNKNOWN_VEHICLES.get(code, "false"),
            nested=request.totals == "nested" and code in sdc.NESTED_TABLES,
        )
        for code in tables
    ]
    observations = sdc.protect_tables(
        con, specs, grid, request.year, request.min_cell, request.rounding_base, linked=request.protection != "table"
    )
    if request.protection == "audited" and request.layout == "v1":
        _, unresolved = protect_observations(con, observations, grid, request.min_cell, request.rounding_base)
        if unresolved:
            print(
                f"warning: {request.municipality} {request.year}-{request.month:02d}: the audit pass left {unresolved} "
                "cells at risk or groups without a feasible point (see anpr audit)",
                file=sys.stderr,
            )
    return traffic, observations


def _impossible_sql(code: str, request: GenerateRequest) -> str:
    """Cells that cannot occur; in T01 also the clock hour skipped on the spring DST day (H02, every category)."""
    if code != "T01":
        return sdc.IMPOSSIBLE.get(code, "false")
    spring = dst_dates(month_dates(request.year, request.month), 23)
    if not spring:
        return "false"
    days = ", ".join(f"'{d.isoformat()}'" for d in spring)
    return f"Hour = '{c.HOURS[DST_HOUR]}' and Date in ({days})"


def _recalibrate(traffic, location: str, factor: float):
    """A correction's cause: one camera under-counted, so its counts are scaled up."""
    import pyarrow.compute as pc

    def scale(table):
        hit = pc.equal(table["Location"], location)
        for column in ("passages", "n_distinct"):
            scaled = pc.cast(pc.round(pc.multiply(table[column], factor)), table[column].type)
            table = table.set_column(table.schema.get_field_index(column), column, pc.if_else(hit, scaled, table[column]))
        return table

    traffic.hourly, traffic.by_fuel = scale(traffic.hourly), scale(traffic.by_fuel)
    return traffic


def request_tables(layout: str) -> tuple[str, ...]:
    return ("T01", "T02") if layout == "legacy" else tuple(c.OBSERVATION_TABLES)


def generate_delivery(request: GenerateRequest, out: Path, duckdb_threads: int | None = None) -> Path:
    """Writes one delivery under `out` and returns its folder (or zip) path.

    `duckdb_threads`: 1 when months already run one process per core (`generate_many`), so DuckDB's own
    threads do not compete with the other months for the same cores (measured: about 5 % less CPU).
    """
    if request.layout not in LAYOUTS:
        raise ValueError(f"unknown layout {request.layout!r}; choose one of {', '.join(LAYOUTS)}")
    if not c.MUNICIPALITY_RE.match(request.municipality):
        raise ValueError(f"municipality code {request.municipality!r} is not GM followed by four digits")
    if request.version < 1 or (request.layout == "legacy" and request.version != 1):
        raise ValueError("version must be >= 1, and the legacy layout has no versions")
    if request.protection not in sdc.PROTECTIONS:
        raise ValueError(f"unknown protection {request.protection!r}; choose one of {', '.join(sdc.PROTECTIONS)}")
    if request.totals not in sdc.TOTALS:
        raise ValueError(f"unknown totals {request.totals!r}; choose one of {', '.join(sdc.TOTALS)}")
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    if duckdb_threads:
        con.execute(f"set threads = {int(duckdb_threads)}")
    try:
        traffic, observations = protected_observations(con, request)
        if request.layout == "v1":
            folder = write_v1(con, traffic, observations, out, request.version, request.min_cell, request.rounding_base)
        else:
            folder = write_legacy(con, traffic, observations, out)
    finally:
        con.close()
    return zip_folder(folder) if request.as_zip else folder


def generate_many(requests: list[GenerateRequest], out: Path, jobs: int | None = None, label: str = "generate") -> list[Path]:
    """Generates several deliveries, one process per core (months are independent); paths in request order.

    The pool takes the largest deliveries first (`largest_first`): a year's wall time is the busier
    worker's, and the last delivery a worker takes is the one the other may sit idle beside, so the small
    ones go last (February last in a year).
    """
    from tqdm import tqdm

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(requests)))
    bar = tqdm(total=len(requests), desc=label, unit="delivery", disable=len(requests) < 2, file=sys.stderr)
    try:
        if jobs == 1:
            paths = []
            for request in requests:
                paths.append(generate_delivery(request, out))
                bar.update()
            return paths
        with ProcessPoolExecutor(jobs) as pool:
            futures = {i: pool.submit(generate_delivery, requests[i], out, 1) for i in largest_first(requests)}
            for future in futures.values():
                future.add_done_callback(lambda _: bar.update())
            return [futures[i].result() for i in range(len(requests))]
    finally:
        bar.close()


def largest_first(requests: list[GenerateRequest]) -> list[int]:
    """Indices of `requests`, the most work first (locations x days of the month; ties in request order).

    Why: with months handed out in calendar order, a 40-location year ended with one worker idle for
    about half a month's run (37.0 s wall for 68.8 CPU s on 2 cores, idle). Whatever a month costs is
    roughly proportional to its location-days; the audit's share varies from month to month, so this is
    a guess, but any guess that leaves the smallest deliveries for last shortens the tail.
    """

    def work(request: GenerateRequest) -> int:
        return request.locations * calendar.monthrange(request.year, request.month)[1]

    return sorted(range(len(requests)), key=lambda i: -work(requests[i]))
