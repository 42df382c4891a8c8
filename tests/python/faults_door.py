"""Faulty deliveries: strict dates and numbers, totals, DST hours, municipality codes.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
Most v1 entries start from the April delivery, which has no daylight-saving day, so
each fails on the rule under test only; the DST entries start from March.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .faulty import Fault, edit_lines, edit_manifest, first_row_where, replace_field

T01_HEADER = ("Id", "Measure", "Location", "Date", "Hour", "VehicleCategory", "Value", "ValueAttribute")
T03_HEADER = ("Id", "Measure", "Zone", "VehicleCategory", "EmissionClass", "FirstAdmissionYear", "Value", "ValueAttribute")
TWO_TO_THE_63 = str(2**63)
FULLWIDTH_FIVE = "\uff15"  # '５': Python's \d matches it, int() reads it as 5


def _where(header: tuple[str, ...], **wanted: str) -> Callable[[list[str]], bool]:
    """A row predicate on named columns."""
    index = {name: header.index(name) for name in wanted}
    return lambda fields: all(fields[index[name]] == value for name, value in wanted.items())


def _is_total_row(fields: list[str]) -> bool:
    """A published T01 category total: a value there cannot make a total fall below a part."""
    return fields[5] == "T001" and fields[-1] == "None"


def _drop_first(predicate: Callable[[list[str]], bool]) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        for i, line in enumerate(lines[1:], start=1):
            if line and predicate(line.split(",")):
                return lines[:i] + lines[i + 1 :]
        raise AssertionError("no row matched the predicate")

    return edit


def _duplicate_with_date(date: Callable[[str], str]) -> Callable[[list[str]], list[str]]:
    """Appends a copy of the first data row under a new Id, its date spelled differently."""

    def edit(lines: list[str]) -> list[str]:
        fields = lines[1].split(",")
        fields[0], fields[3] = str(10**7), date(fields[3])
        return lines[:2] + [",".join(fields)] + lines[2:]

    return edit


def _total_below_part(lines: list[str]) -> list[str]:
    """Sets a published T01 category total to 0 where a published part of it is at least 10."""
    rows = [line.split(",") for line in lines]
    big_parts = {tuple(f[2:5]) for f in rows[1:] if len(f) == 8 and f[5] != "T001" and f[-1] == "None" and int(f[6]) >= 10}
    for i, f in enumerate(rows[1:], start=1):
        if len(f) == 8 and f[5] == "T001" and f[-1] == "None" and tuple(f[2:5]) in big_parts:
            f[6] = "0"
            lines[i] = ",".join(f)
            return lines
    raise AssertionError("no total with a published part >= 10")


def _spring_h02_value(lines: list[str]) -> list[str]:
    """Gives the first T01 cell of 2025-03-30 H02 (an hour that does not exist) a published value."""
    is_gap = _where(T01_HEADER, Date="2025-03-30", Hour="H02")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        if len(fields) == 8 and is_gap(fields):
            fields[6:8] = ["0", "None"]
            lines[i] = ",".join(fields)
            return lines
    raise AssertionError("no 2025-03-30 H02 row")


def _huge_rounding_base(folder: Path) -> Path:
    """A JSON number beyond every float (Python reads it as inf). Digit runs are left to test_door_checks:
    32 or more digits also trip the hashed-plate guard."""
    manifest = folder / "delivery.json"
    text = manifest.read_text(encoding="utf-8")
    huge = text.replace('"rounding_base": 5', '"rounding_base": 1e999')
    assert huge != text, "the manifest has no rounding_base 5"
    manifest.write_text(huge, encoding="utf-8")
    return folder


def _drop_legacy_total_row(lines: list[str]) -> list[str]:
    """Removes the first `Totaal` category row of the legacy fuel file."""
    index = next(i for i, line in enumerate(lines) if line.split(";")[2:3] == ["Totaal"])
    return lines[:index] + lines[index + 1 :]


def _rename_legacy(old: str, new: str) -> Callable[[Path], Path]:
    """Renames every legacy file's `GMxxxx_YYYY-MM` prefix."""

    def mutate(folder: Path) -> Path:
        for path in list(folder.iterdir()):
            path.rename(folder / path.name.replace(old, new))
        return folder

    return mutate


def _legacy_spring_hour_two(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(";")
        if len(fields) > 3 and fields[1] == "30-03-2025" and fields[2] == "2":
            fields[3:] = ["5"] + ["."] * (len(fields) - 4)
            lines[i] = ";".join(fields)
            return lines
    raise AssertionError("no 30-03-2025 hour 2 row")


T01, T02, T03, T05 = (f"T0{n}_Observations.csv" for n in (1, 2, 3, 5))
V1 = "v1_april"  # no DST day: a fault there breaks only its own rule

DOOR_FAULTS = [
    # Dates: exactly YYYY-MM-DD, so one cell cannot hide behind two spellings of its date.
    Fault("date without leading zeros", V1, edit_lines(T01, replace_field(3, 3, "2025-4-5")), T01, "date-range"),
    Fault("date with leading space", V1, edit_lines(T02, replace_field(2, 3, " 2025-04-07")), T02, "date-range"),
    Fault(
        "duplicate cell behind a leading space", V1, edit_lines(T01, _duplicate_with_date(lambda d: " " + d)), T01, "date-range"
    ),
    Fault(
        "duplicate cell behind a short date",
        V1,
        edit_lines(T01, _duplicate_with_date(lambda d: d[:5] + d[5:].replace("-0", "-"))),
        T01,
        "date-range",
    ),
    Fault("zone valid from year 0000", V1, edit_lines("Zones.csv", replace_field(1, 4, "0000-01-01")), "Zones.csv", "date"),
    # Values: a plain non-negative integer of at most 12 ASCII digits (on totals, so no total falls below a part).
    Fault("value 2^63", V1, edit_lines(T01, first_row_where(_is_total_row, 6, TWO_TO_THE_63)), T01, "value"),
    Fault("13-digit value", V1, edit_lines(T01, first_row_where(_is_total_row, 6, "1000000000000")), T01, "value"),
    Fault("value with plus sign", V1, edit_lines(T01, first_row_where(_is_total_row, 6, "+5")), T01, "value"),
    Fault("value with exponent", V1, edit_lines(T01, first_row_where(_is_total_row, 6, "1e3")), T01, "value"),
    Fault("fullwidth digit value", V1, edit_lines(T01, first_row_where(_is_total_row, 6, FULLWIDTH_FIVE)), T01, "value"),
    Fault(
        "decimals beyond an integer",
        V1,
        edit_lines("MeasureCodes.csv", replace_field(1, 3, "99999999999")),
        "MeasureCodes.csv",
        "value",
    ),
    Fault("value off the rounding base", V1, edit_lines(T01, first_row_where(_is_total_row, 6, "1000003")), T01, "rounding"),
    # Manifest: bounded integers, ASCII codes, years 2000-2099; refusals, never tracebacks.
    Fault("version 2^63", V1, edit_manifest(lambda d: d.update(version=2**63)), "delivery.json", "manifest"),
    Fault("version 0", V1, edit_manifest(lambda d: d.update(version=0)), "delivery.json", "manifest"),
    Fault("version as text", V1, edit_manifest(lambda d: d.update(version="1")), "delivery.json", "manifest"),
    Fault("rounding base beyond every float", V1, _huge_rounding_base, "delivery.json", "manifest"),
    Fault("period year 0000", V1, edit_manifest(lambda d: d["period"].update(code="0000MM04")), "delivery.json", "date-range"),
    Fault(
        "fullwidth municipality digits",
        V1,
        edit_manifest(lambda d: d["municipality"].update(code="GM\uff10\uff13\uff14\uff14")),
        "delivery.json",
        "manifest",
    ),
    Fault(
        "no such municipality",
        V1,
        edit_manifest(lambda d: d["municipality"].update(code="GM9999")),
        "delivery.json",
        "municipality",
    ),
    # Totals: the contract's minimum set, and no total below its parts.
    Fault(
        "missing T01 category total", V1, edit_lines(T01, _drop_first(_where(T01_HEADER, VehicleCategory="T001"))), T01, "totals"
    ),
    Fault(
        "missing T03 grand total",
        V1,
        edit_lines(
            T03,
            _drop_first(
                _where(T03_HEADER, Measure="M_VEHICLES", VehicleCategory="T001", EmissionClass="T001", FirstAdmissionYear="T001")
            ),
        ),
        T03,
        "totals",
    ),
    Fault("total below its part", V1, edit_lines(T01, _total_below_part), T01, "totals"),
    # Daylight saving time: 2025-03-30 has no 02:00.
    Fault("value in the skipped spring hour", "v1", edit_lines(T01, _spring_h02_value), T01, "dst"),
    Fault(
        "legacy number in the skipped spring hour",
        "legacy",
        edit_lines("passages_per_uur.csv", _legacy_spring_hour_two),
        "passages_per_uur.csv",
        "dst",
    ),
    Fault(
        "legacy missing category total row",
        "legacy",
        edit_lines("brandstof.csv", _drop_legacy_total_row),
        "brandstof.csv",
        "totals",
    ),
    # Legacy: the same strictness.
    Fault(
        "legacy short date",
        "legacy",
        edit_lines("passages_per_uur.csv", replace_field(2, 1, "5-3-2025", ";")),
        "passages_per_uur.csv",
        "date-range",
    ),
    Fault(
        "legacy value 2^63",
        "legacy",
        edit_lines("brandstof.csv", replace_field(3, 13, TWO_TO_THE_63, ";")),
        "brandstof.csv",
        "value",
    ),
    Fault(
        "legacy hour with leading zero",
        "legacy",
        edit_lines("passages_per_uur.csv", replace_field(4, 2, "04", ";")),
        "passages_per_uur.csv",
        "hour",
    ),
    Fault("legacy no such municipality", "legacy", _rename_legacy("GM0344_", "GM9999_"), "GM9999_2025-03", "municipality"),
    Fault("legacy year 0000", "legacy", _rename_legacy("_2025-03_", "_0000-03_"), "GM0344_0000-03", "date-range"),
]
