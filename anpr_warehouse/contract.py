"""The CBS ANPR delivery contract as data (see ../shared/contract/cbs-anpr-delivery.md).

The generator writes deliveries from these definitions and the validator checks
deliveries against the same definitions, so the two can never drift apart.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .reference import legacy_code_map

CONTRACT_V1 = "cbs-anpr-delivery/1"
CONTRACT_LEGACY = "cbs-anpr-legacy/0"
TOTAL = "T001"

VALUE_ATTRIBUTES = ("None", "Confidential", "Impossible", "Unknown")

# Every pattern is ASCII-only ([0-9], never \d: Python's \d also matches fullwidth and other
# Unicode digits, which int() accepts and the warehouse's SQL does not). \A...\Z, not ^...$:
# `$` also matches before a trailing newline.
MUNICIPALITY_RE = re.compile(r"\AGM[0-9]{4}\Z")
PERIOD_MONTH_RE = re.compile(r"\A([0-9]{4})MM(0[1-9]|1[0-2])\Z")

# "Dates and numbers" of the contract's settled edge cases.
YEARS = (2000, 2099)
VERSIONS = (1, 9999)
VALUE_MAX_DIGITS = 12
SDC_BOUNDS = {"min_cell": (1, 1000), "rounding_base": (1, 1000)}  # sane bounds: the register stores integers
# DuckDB (RE2) patterns for full matches of delivered text; the calendar check comes on top.
VALUE_PATTERN = f"[0-9]{{1,{VALUE_MAX_DIGITS}}}"
ISO_DATE_PATTERN = "20[0-9]{2}-[0-9]{2}-[0-9]{2}"
LEGACY_DATE_PATTERN = "[0-9]{2}-[0-9]{2}-20[0-9]{2}"


@dataclass(frozen=True)
class CodeList:
    """One `<Dimension>.csv` code list: its fixed identifiers (None = delivery-specific)."""

    file: str
    dimension: str  # column name used in the observation tables
    extra_columns: tuple[str, ...] = ()
    identifiers: tuple[str, ...] | None = None
    has_total: bool = True


VEHICLE_CATEGORIES = ("BEST", "VRAC", "TREK", "BUSS", "PERS", "OVER", "ONBK")
FUEL_TYPES = ("DIES", "BENZ", "ELEK", "WATS", "LPG", "CNG", "LNG", "HYBR", "OVER", "ONBK")
EMISSION_CLASSES = ("E0", "E1", "E2", "E3", "E4", "E5", "E6", "EZ", "ONBK")
OWNER_TYPES = ("BEDR", "LEAS", "PART", "ONBK")
SBI_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU") + ("NVT", "ONBK")
PROVINCES = tuple(f"PV{n}" for n in range(20, 32))
OWNER_REGIONS = ("GM_EIGEN",) + PROVINCES + ("BUITENLAND", "ONBK")
VISIT_DAY_CLASSES = ("D01", "D02_04", "D05_09", "D10_19", "D20P")
FIRST_ADMISSION_FLOOR = 1999  # FA1999 means "1999 or earlier"
LOCATION_DIRECTIONS = ("IN", "OUT", "BOTH")
ZONE_TYPES = ("ZE", "MILIEU", "OVERIG")

CODE_LIST_HEADER = ("Identifier", "Title", "Description")


def first_admission_years(period_year: int) -> tuple[str, ...]:
    """FA1999 (or earlier) up to the delivery's own year, then ONBK."""
    return tuple(f"FA{y}" for y in range(FIRST_ADMISSION_FLOOR, period_year + 1)) + ("ONBK",)


def code_lists(period_year: int) -> dict[str, CodeList]:
    """All code lists of a v1 delivery, keyed by file name."""
    lists = [
        CodeList("Locations.csv", "Location", ("ZoneIdentifier", "Direction", "Latitude", "Longitude"), None, False),
        CodeList("Zones.csv", "Zone", ("ZoneType", "ValidFrom"), None, False),
        CodeList("VehicleCategories.csv", "VehicleCategory", (), VEHICLE_CATEGORIES),
        CodeList("FuelTypes.csv", "FuelType", (), FUEL_TYPES),
        CodeList("EmissionClasses.csv", "EmissionClass", (), EMISSION_CLASSES),
        CodeList("FirstAdmissionYears.csv", "FirstAdmissionYear", (), first_admission_years(period_year)),
        CodeList("OwnerTypes.csv", "OwnerType", (), OWNER_TYPES),
        CodeList("SbiSections.csv", "SbiSection", (), SBI_SECTIONS),
        CodeList("OwnerRegions.csv", "OwnerRegion", (), OWNER_REGIONS),
        CodeList("VisitDayClasses.csv", "VisitDayClass", (), VISIT_DAY_CLASSES),
    ]
    return {c.file: c for c in lists}


MEASURE_CODES_FILE = "MeasureCodes.csv"
MEASURE_CODES_HEADER = ("Identifier", "Title", "Unit", "Decimals", "Description")
MEASURES = {
    "M_PASSAGES": ("Passages", "aantal", "0", "Aantal passages langs een camera of de zonegrens."),
    "M_VEHICLES": (
        "Unieke voertuigen",
        "aantal",
        "0",
        "Unieke voertuigen binnen de maand en zone van de tabel; niet optelbaar over maanden of zones.",
    ),
}


@dataclass(frozen=True)
class ObservationTable:
    """One `Txx_Observations.csv`: its dimension columns and allowed measures."""

    code: str
    title: str
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{self.code}_Observations.csv"

    @property
    def header(self) -> tuple[str, ...]:
        return ("Id", "Measure") + self.dimensions + ("Value", "ValueAttribute")


OBSERVATION_TABLES = {
    t.code: t
    for t in (
        ObservationTable("T01", "Passages per uur", ("Location", "Date", "Hour", "VehicleCategory"), ("M_PASSAGES",)),
        ObservationTable("T02", "Passages per brandstof", ("Location", "Date", "VehicleCategory", "FuelType"), ("M_PASSAGES",)),
        ObservationTable(
            "T03",
            "Emissieprofiel",
            ("Zone", "VehicleCategory", "EmissionClass", "FirstAdmissionYear"),
            ("M_PASSAGES", "M_VEHICLES"),
        ),
        ObservationTable("T04", "Sectoren", ("Zone", "VehicleCategory", "OwnerType", "SbiSection"), ("M_PASSAGES", "M_VEHICLES")),
        ObservationTable("T05", "Herkomst", ("Zone", "VehicleCategory", "OwnerRegion"), ("M_PASSAGES", "M_VEHICLES")),
        ObservationTable("T06", "Bezoekfrequentie", ("Zone", "VehicleCategory", "VisitDayClass"), ("M_VEHICLES",)),
    )
}

# Dimension column -> code-list file; Date and Hour are not code lists.
DIMENSION_CODE_LIST = {c.dimension: c.file for c in code_lists(2000).values()}
HOURS = tuple(f"H{h:02d}" for h in range(24))
# Dimensions with a T001 total; the others (Location, Date, Hour, Zone) are what totals are kept per.
TOTAL_DIMENSIONS = frozenset(cl.dimension for cl in code_lists(2000).values() if cl.has_total)


def total_dimensions(table: ObservationTable) -> tuple[str, ...]:
    """The table's dimensions that have a T001 total."""
    return tuple(d for d in table.dimensions if d in TOTAL_DIMENSIONS)


def minimum_total_keys(table: ObservationTable) -> tuple[str, ...]:
    """What the always-present total is kept per (besides the measure).

    The contract's minimum set: T01 the category total per location, date and hour; T02 the
    total over categories and fuels per location and date; T03-T06 the total over every
    dimension but the zone, per zone. In every table that is: all total dimensions at T001,
    for each combination of the dimensions without a total.
    """
    return tuple(d for d in table.dimensions if d not in TOTAL_DIMENSIONS)


# ---- daylight saving time (Europe/Amsterdam) ----

DST_GAP_HOUR = "H02"  # the clock jumps from 02:00 to 03:00 on the spring day, back from 03:00 to 02:00 in autumn


def last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - 6) % 7)


def spring_forward_day(year: int, month: int) -> dt.date | None:
    """The day without a 02:00 hour (last Sunday of March), if it falls in this month."""
    return last_sunday(year, 3) if month == 3 else None


def v1_files(period_year: int) -> tuple[str, ...]:
    """Every file a v1 delivery must list in its manifest (delivery.json itself excluded)."""
    return (MEASURE_CODES_FILE,) + tuple(code_lists(period_year)) + tuple(t.file for t in OBSERVATION_TABLES.values())


# ---- legacy layout (cbs-anpr-legacy/0) ----

# Legacy Dutch words -> standard identifiers, from the seed the dbt models use too.
LEGACY_CATEGORY_WORDS = legacy_code_map("VehicleCategory")
LEGACY_FUEL_WORDS = legacy_code_map("FuelType")
LEGACY_DIRECTION_WORDS = legacy_code_map("Direction")
LEGACY_SECRET = "."
LEGACY_LOCATIONS_HEADER = ("Locatie", "Naam", "Zone", "Richting", "X_RD", "Y_RD")
LEGACY_HOURLY_HEADER = ("Locatie", "Datum", "Uur") + tuple(LEGACY_CATEGORY_WORDS)
LEGACY_FUEL_HEADER = ("Locatie", "Datum", "Voertuigcategorie") + tuple(LEGACY_FUEL_WORDS)
LEGACY_FILE_RE = re.compile(r"\A(GM[0-9]{4})_([0-9]{4})-([0-9]{2})_(locaties|passages_per_uur|brandstof)\.csv\Z")
LEGACY_KINDS = ("locaties", "passages_per_uur", "brandstof")


def legacy_file_name(municipality: str, year: int, month: int, kind: str) -> str:
    return f"{municipality}_{year:04d}-{month:02d}_{kind}.csv"


def period_code(year: int, month: int) -> str:
    return f"{year:04d}MM{month:02d}"


def delivery_id(municipality: str, year: int, month: int, version: int) -> str:
    return f"CBS-ANPR-{municipality}-{period_code(year, month)}-{version}"
