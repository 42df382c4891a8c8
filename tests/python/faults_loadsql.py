"""Faulty deliveries aimed at the loader's shortcuts (issue 11): each must still be refused on its rule.

The checks take cheaper roads on ordinary files: a duplicate check is skipped when the rows are in
strictly increasing order (parsing.unique_by_order), a row rule on one column is decided on the
column's distinct values, and the plate guard judges the distinct fields Arrow split from a plain
file (parsing.read_plain_fields). Every entry here breaks one rule where such a road must not hide it:
rows out of order, a duplicate far from its twin, a plate next to a separator the text survey splits
at, a plate in a CRLF file, a field too long for the field survey. Run by test_load_set_checks.py
with the same assertions as test_load.test_faulty_delivery_is_refused_whole (exit 2, rule and file
named, warehouse unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .faulty import Fault, _raw_bytes, edit_lines, replace_field

T01, T02 = "T01_Observations.csv", "T02_Observations.csv"


def _data_rows_reversed(lines: list[str]) -> list[str]:
    """Header first, then the data rows last to first (the Ids keep their rows): a valid, unsorted table."""
    rows = [line for line in lines[1:] if line]
    return [lines[0], *reversed(rows), ""]


def _twin_at_the_end(lines: list[str]) -> list[str]:
    """The first data row's cell once more as the last row, with the next free Id: Ids stay in order, cells do not."""
    rows = [line for line in lines[1:] if line]
    fields = rows[0].split(",")
    fields[0] = str(len(rows) + 1)
    return [lines[0], *rows, ",".join(fields), ""]


def _reversed_with_duplicate_id(lines: list[str]) -> list[str]:
    """Rows out of order, and the last row's Id given to the first: one Id twice, far apart."""
    reversed_lines = _data_rows_reversed(lines)
    first, last = reversed_lines[1].split(","), reversed_lines[-2].split(",")
    last[0] = first[0]
    reversed_lines[-2] = ",".join(last)
    return reversed_lines


def _crlf_with(file: str, edit: Callable[[list[str]], list[str]]) -> Callable[[Path], Path]:
    """`edit` applied, then every line end CRLF: the Arrow field path must read CRLF files as the text survey does."""
    return lambda folder: _raw_bytes(file, lambda data: data.replace(b"\n", b"\r\n"))(edit_lines(file, edit)(folder))


LOADSQL_FAULTS = [
    Fault("duplicate cell far from its twin, Ids in order", "v1", edit_lines(T01, _twin_at_the_end), T01, "duplicate-cell"),
    Fault("duplicate Id in rows out of order", "v1", edit_lines(T02, _reversed_with_duplicate_id), T02, "duplicate-id"),
    Fault(
        "plate after a semicolon in a v1 title",
        "v1",
        edit_lines("VehicleCategories.csv", replace_field(1, 1, "zie;VB-12-CD")),
        "VehicleCategories.csv",
        "licence-plate",
    ),
    Fault(
        "plate in a CRLF code list",
        "v1",
        _crlf_with("Locations.csv", replace_field(1, 1, "Kenteken 12-VBC-3")),
        "Locations.csv",
        "licence-plate",
    ),
    Fault(
        "a field of 1,001 characters in a plain file",
        "v1",
        edit_lines("Zones.csv", replace_field(1, 1, "x" * 1001)),
        "Zones.csv",
        "text",
    ),
    # rules counted in an aggregate's filter evaluate every term on every row: a `cast` there raised (fuzz cases 62, 222)
    Fault(
        "latitude that is not a number",
        "v1",
        edit_lines("Locations.csv", replace_field(1, 5, "5r.091456")),
        "Locations.csv",
        "coordinates",
    ),
    Fault(
        "legacy X_RD that is not a number",
        "legacy",
        edit_lines("_locaties.csv", replace_field(1, 4, "Confidential", ";")),
        "_locaties.csv",
        "coordinates",
    ),
    Fault(
        "unknown location in rows out of order",
        "v1",
        edit_lines(T01, lambda lines: replace_field(3, 2, "GM0344_L999")(_data_rows_reversed(lines))),
        T01,
        "unknown-code",
    ),
]
