"""Simulates one municipality-month of enriched ANPR counts, before disclosure control.

Camera counts (T01/T02) are drawn per cell with numpy (a year of 40 locations is
tens of millions of passages, so passages are never simulated one by one); the
zone tables (T03-T06) come from a simulated population of distinct vehicles,
sized so that its zone entries match the camera counts at the zone's entry sites.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from .. import contract as c
from ..reference import Municipality
from . import profiles as p

STREETS = (
    "Stationsweg",
    "Kanaalweg",
    "Havenstraat",
    "Marktstraat",
    "Singel",
    "Kerkstraat",
    "Nieuwegracht",
    "Molenweg",
    "Industrieweg",
    "Parkweg",
    "Julianalaan",
    "Beatrixlaan",
    "Spoorlaan",
    "Vaartweg",
    "Dijkweg",
    "Brugstraat",
    "Poortstraat",
    "Rijnkade",
    "Leidseweg",
    "Amsterdamsestraatweg",
)


@dataclass(frozen=True)
class Location:
    identifier: str
    title: str
    zone: str | None
    direction: str
    latitude: float
    longitude: float
    daily_volume: float = 0.0  # expected passages per average weekday; stable across months


@dataclass(frozen=True)
class Zone:
    identifier: str
    title: str
    zone_type: str
    valid_from: str


@dataclass
class MonthTraffic:
    """Everything the writers need for one delivery, before suppression."""

    municipality: Municipality
    year: int
    month: int
    locations: list[Location]
    zones: list[Zone]
    hourly: pa.Table  # Location, Date, Hour, VehicleCategory, passages, n_distinct
    by_fuel: pa.Table  # Location, Date, VehicleCategory, FuelType, passages, n_distinct
    vehicles: pa.Table  # one row per distinct vehicle that entered a zone


def make_sites(muni: Municipality, n_locations: int, rng: np.random.Generator) -> tuple[list[Location], list[Zone]]:
    """Camera sites: most on the ZE-zone border, some around an environmental zone, a few outside.

    `rng` is seeded by the municipality alone, so sites and their volumes are the same every month.
    """
    zones = [Zone(f"{muni.code}_Z01", f"Zero-emissiezone {muni.name}", "ZE", muni.ze_zone_start_date or "2025-01-01")]
    n_ze = max(1, round(n_locations * 0.6))
    n_milieu = round(n_locations * 0.25) if n_locations >= 4 else 0
    if n_milieu:
        zones.append(Zone(f"{muni.code}_Z02", f"Milieuzone {muni.name}", "MILIEU", "2020-01-01"))
    directions = ("BOTH", "IN", "OUT")
    locations = []
    for i in range(n_locations):
        if i < n_ze:
            zone, radius_km, direction, position = zones[0].identifier, 1.2, directions[i % 3], i / n_ze
        elif i < n_ze + n_milieu:
            zone, radius_km, direction, position = zones[1].identifier, 2.6, directions[i % 2], (i - n_ze) / n_milieu
        else:
            zone, radius_km, direction = None, 4.0, "BOTH"
            position = (i - n_ze - n_milieu) / max(1, n_locations - n_ze - n_milieu) + 0.1
        angle = 2 * np.pi * position + rng.normal(0, 0.08)
        radius = radius_km * (1 + rng.normal(0, 0.08))
        lat = muni.centre_latitude + radius * np.sin(angle) / 111.2
        lon = muni.centre_longitude + radius * np.cos(angle) / (111.2 * np.cos(np.radians(muni.centre_latitude)))
        street = STREETS[i % len(STREETS)] + ("" if i < len(STREETS) else f" {i // len(STREETS) + 1}")
        volume = float(rng.lognormal(np.log(p.MEAN_DAILY_PASSAGES_PER_LOCATION), 0.45))
        locations.append(
            Location(
                f"{muni.code}_L{i + 1:03d}", f"{street} ({muni.name})", zone, direction, round(lat, 6), round(lon, 6), volume
            )
        )
    return locations, zones


def month_dates(year: int, month: int) -> list[dt.date]:
    return [dt.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


LOCAL_TIME = ZoneInfo("Europe/Amsterdam")
DST_HOUR = 2  # the clock hour that is skipped in spring and repeated in autumn (H02)


def clock_hours_in_day(day: dt.date) -> int:
    """Hours of local (Europe/Amsterdam) time in the day: 23 on the spring change, 25 in autumn, else 24.

    `Hour` in T01 is the local clock hour, so the camera counts follow the local day.
    """
    start = dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIME)
    end = start + dt.timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return round((end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() / 3600)


def dst_dates(dates: list[dt.date], hours: int) -> list[dt.date]:
    """The days of `dates` with the given number of clock hours (23: spring, 25: autumn)."""
    return [d for d in dates if clock_hours_in_day(d) == hours]


def fuel_mix(year: int, month: int) -> np.ndarray:
    """Fuel mix per category for the month: the electric share grows over time."""
    months_since = (year - 2024) * 12 + (month - 1)
    mix = p.FUEL_MIX_BY_CATEGORY.copy()
    mix[:, p.FUEL_INDEX_ELEK] *= max(0.2, 1 + p.ELECTRIC_GROWTH_PER_MONTH * months_since)
    return mix / mix.sum(axis=1, keepdims=True)


def _sample_grouped(rng: np.random.Generator, table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One categorical draw per vehicle from row `group` of `table` (inverse-CDF sampling), without n x K matrices.

    Why: a zone's vehicles share a handful of probability rows (one per category, or per category and
    age group), and building, summing and comparing one row per vehicle cost about 0.1 CPU s a
    40-location month. The uniform draws are taken in the same call (`rng.random(n)`, one per row), and
    counting the CDF entries below a draw is what `searchsorted(..., side="left")` returns on a
    non-decreasing CDF, so the stream and every sampled index stay the same
    (tests/python/test_generate_traffic.py holds the two to each other).
    """
    cdf = np.cumsum(table, axis=1)
    draws = rng.random(group.size)
    small = np.uint8 if table.shape[0] <= 256 else np.int64  # numpy sorts 8-bit keys by radix: O(n)
    order = np.argsort(group.astype(small, copy=False), kind="stable")
    bounds = np.searchsorted(group[order], np.arange(table.shape[0] + 1))
    sampled = np.empty(group.size, dtype=np.int64)
    for row in range(table.shape[0]):
        members = order[bounds[row] : bounds[row + 1]]
        sampled[members] = np.searchsorted(cdf[row], draws[members], side="left")
    return np.minimum(sampled, table.shape[1] - 1)


def camera_counts(
    locations: list[Location], dates: list[dt.date], mix: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """T01 and T02 detail cells, plus passages per location (for sizing the zone population)."""
    n_loc, n_day, n_cat = len(locations), len(dates), len(c.VEHICLE_CATEGORIES)
    base = np.array([loc.daily_volume for loc in locations])
    dow = p.DAY_OF_WEEK_FACTOR[[d.weekday() for d in dates]]
    day_noise = rng.gamma(40, 1 / 40, (n_loc, n_day))
    expected = (
        (base[:, None] * dow[None, :] * day_noise)[:, :, None, None]
        * p.HOUR_PROFILE_BY_CATEGORY.T[None, None, :, :]
        * p.CATEGORY_SHARE[None, None, None, :]
    )  # location x day x hour x category
    passages = rng.poisson(expected)
    # Local clock hours: in spring H02 does not happen (no traffic; T02's day has 23 hours), in autumn
    # H02 is lived twice and holds the traffic of both clock hours. Applied after the regular draw, so
    # the random stream of every month without an autumn change is the same as without DST.
    hours_in_day = np.array([clock_hours_in_day(d) for d in dates])
    passages[:, hours_in_day == 23, DST_HOUR, :] = 0
    autumn = hours_in_day == 25
    if autumn.any():
        passages[:, autumn, DST_HOUR, :] += rng.poisson(expected[:, autumn, DST_HOUR, :])
    distinct = passages - rng.binomial(passages, p.REPEAT_SHARE_HOURLY)

    loc_ids = np.array([loc.identifier for loc in locations])
    date_ids = np.array([d.isoformat() for d in dates])
    categories = np.array(c.VEHICLE_CATEGORIES)
    hourly = _cell_table(
        passages,
        distinct,
        [("Location", loc_ids), ("Date", date_ids), ("Hour", np.array(c.HOURS)), ("VehicleCategory", categories)],
    )

    daily = passages.sum(axis=2)  # location x day x category
    fuel = np.zeros(daily.shape + (len(c.FUEL_TYPES),), dtype=np.int64)
    for k in range(n_cat):
        fuel[:, :, k, :] = rng.multinomial(daily[:, :, k], mix[k])
    fuel_distinct = fuel - rng.binomial(fuel, p.REPEAT_SHARE_DAILY)
    by_fuel = _cell_table(
        fuel,
        fuel_distinct,
        [("Location", loc_ids), ("Date", date_ids), ("VehicleCategory", categories), ("FuelType", np.array(c.FUEL_TYPES))],
    )
    return hourly, by_fuel, passages.sum(axis=(1, 2, 3))


def _cell_table(counts: np.ndarray, distinct: np.ndarray, axes: list[tuple[str, np.ndarray]]) -> pa.Table:
    """One row per cell of an n-dimensional count array, each axis labelled by its identifiers."""
    grid = np.indices(counts.shape).reshape(len(axes), -1)
    columns = {name: _labels(labels.tolist(), grid[i]) for i, (name, labels) in enumerate(axes)}
    columns["passages"] = counts.reshape(-1)
    columns["n_distinct"] = distinct.reshape(-1)
    return pa.table(columns)


EURO_CLASS_LAST_YEARS = np.array([1992, 1996, 2000, 2005, 2010, 2015])  # last admission year of E0 .. E5


def emission_class_index(fa_year: np.ndarray, fuel_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Euro class from the year of first admission (RDW-style derivation), EZ for electric and hydrogen."""
    cls = np.searchsorted(EURO_CLASS_LAST_YEARS, fa_year, side="left")  # <= 1992: 0, ..., <= 2015: 5, later: 6
    cls = np.where((fa_year == 2011) & (rng.random(fa_year.size) < 0.4), 4, cls)
    cls = np.where((fa_year == 2016) & (rng.random(fa_year.size) < 0.3), 5, cls)
    zero_emission = (fuel_idx == p.FUEL_INDEX_ELEK) | (fuel_idx == p.FUEL_INDEX_WATS)
    return np.where(zero_emission, c.EMISSION_CLASSES.index("EZ"), cls)


def _young_fuel_mix(mix: np.ndarray) -> np.ndarray:
    """Fuel mix per (category, admitted 2021 or later): row 2 * category + young; young vehicles are 3x as often electric."""
    rows = np.repeat(mix, 2, axis=0)
    rows[1::2, p.FUEL_INDEX_ELEK] *= 3.0
    return rows / rows.sum(axis=1, keepdims=True)


def zone_population(
    zone: str, entries: int, year: int, month: int, n_days: int, mix: np.ndarray, own_province: str, rng: np.random.Generator
) -> pa.Table:
    """Distinct vehicles that entered one zone in the month, with their register attributes."""
    mean_days = sum(share * (lo + hi) / 2 for share, (lo, hi) in zip(p.VISIT_CLASS_SHARE, p.VISIT_CLASS_BOUNDS))
    n = max(1, int(entries / (mean_days * (1 + p.EXTRA_PASSAGES_PER_VISIT_DAY))))
    cat = rng.choice(len(c.VEHICLE_CATEGORIES), n, p=p.CATEGORY_SHARE)
    onbk = cat == c.VEHICLE_CATEGORIES.index("ONBK")

    visit_class = rng.choice(len(p.VISIT_CLASS_SHARE), n, p=p.VISIT_CLASS_SHARE)
    lo = np.array([b[0] for b in p.VISIT_CLASS_BOUNDS])[visit_class]
    hi = np.minimum(np.array([b[1] for b in p.VISIT_CLASS_BOUNDS])[visit_class], n_days)
    visit_days = rng.integers(lo, hi + 1)
    passages = visit_days + rng.poisson(p.EXTRA_PASSAGES_PER_VISIT_DAY * visit_days)

    age = rng.gamma(2.0, p.MEAN_AGE_BY_CATEGORY[cat] / 2.0)
    fa_year = np.maximum(year - np.floor(age).astype(int), 1980)
    young = fa_year >= 2021
    fuel = _sample_grouped(rng, _young_fuel_mix(mix), 2 * cat + young)
    emis = emission_class_index(fa_year, fuel, rng)
    fa_codes = c.first_admission_years(year)
    fa_idx = np.clip(fa_year, c.FIRST_ADMISSION_FLOOR, year) - c.FIRST_ADMISSION_FLOOR
    unknown_fa = rng.random(n) < 0.004
    fa_idx = np.where(onbk | unknown_fa, len(fa_codes) - 1, fa_idx)
    emis = np.where(onbk | unknown_fa, c.EMISSION_CLASSES.index("ONBK"), emis)

    owner = _sample_grouped(rng, p.OWNER_TYPE_BY_CATEGORY, cat)
    sbi = rng.choice(21, n, p=p.SBI_WEIGHTS)
    sbi = np.where(rng.random(n) < p.SBI_UNKNOWN_SHARE, c.SBI_SECTIONS.index("ONBK"), sbi)
    sbi = np.where(owner == c.OWNER_TYPES.index("PART"), c.SBI_SECTIONS.index("NVT"), sbi)
    sbi = np.where(owner == c.OWNER_TYPES.index("ONBK"), c.SBI_SECTIONS.index("ONBK"), sbi)

    other_provinces = [pv for pv in c.PROVINCES if pv != own_province]
    regions = ["GM_EIGEN", own_province, *other_provinces, "BUITENLAND", "ONBK"]  # OwnerRegion labels by index
    outside, unknown = regions.index("BUITENLAND"), regions.index("ONBK")
    region_kind = rng.choice(5, n, p=p.OWNER_REGION_SPLIT)
    other = 2 + rng.integers(0, len(other_provinces), n)  # drawn for every vehicle, used for kind 2 only
    region = np.where(region_kind == 2, other, np.array([0, 1, 2, outside, unknown])[region_kind])
    region = np.where(onbk, np.where(rng.random(n) < p.ONBK_REGION_SPLIT[0], outside, unknown), region)

    return pa.table(
        {
            "Zone": _labels([zone], np.zeros(n, dtype=np.int64)),
            "VehicleCategory": _labels(c.VEHICLE_CATEGORIES, cat),
            "FuelType": _labels(c.FUEL_TYPES, fuel),
            "EmissionClass": _labels(c.EMISSION_CLASSES, emis),
            "FirstAdmissionYear": _labels(fa_codes, fa_idx),
            "OwnerType": _labels(c.OWNER_TYPES, owner),
            "SbiSection": _labels(c.SBI_SECTIONS, sbi),
            "OwnerRegion": _labels(regions, region),
            "VisitDayClass": _labels(c.VISIT_DAY_CLASSES, visit_class),
            "passages": passages,
        }
    )


def _labels(labels, index: np.ndarray) -> pa.Array:
    """The label of each index as a dictionary-encoded Arrow string column (DuckDB reads it as VARCHAR).

    Why a dictionary: the columns hold a few labels each over hundreds of thousands of rows. A numpy
    string array costs its UTF-32 copy and Arrow's UTF-8 conversion (about half a CPU second a
    40-location month); a plain string column made by `take` still copies every label's bytes; the
    dictionary keeps the indices as they are, and DuckDB groups dictionary vectors faster than strings.
    """
    dictionary = pa.array(list(labels), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, dtype=_index_type(len(dictionary)))), dictionary)


def _index_type(size: int) -> type:
    """The narrowest signed integer type that indexes `size` labels (Arrow dictionary indices are signed)."""
    return np.int8 if size <= 127 else np.int16 if size <= 32767 else np.int32


def simulate_month(muni: Municipality, year: int, month: int, n_locations: int, rng: np.random.Generator) -> MonthTraffic:
    locations, zones = make_sites(muni, n_locations, np.random.default_rng(int.from_bytes(muni.code.encode(), "big")))
    dates = month_dates(year, month)
    mix = fuel_mix(year, month)
    hourly, by_fuel, per_location = camera_counts(locations, dates, mix, rng)
    populations = []
    for zone in zones:
        entry_sites = [i for i, loc in enumerate(locations) if loc.zone == zone.identifier and loc.direction in ("IN", "BOTH")]
        entries = int(per_location[entry_sites].sum()) if entry_sites else 0
        populations.append(zone_population(zone.identifier, entries, year, month, len(dates), mix, muni.province_code, rng))
    return MonthTraffic(muni, year, month, locations, zones, hourly, by_fuel, pa.concat_tables(populations))
