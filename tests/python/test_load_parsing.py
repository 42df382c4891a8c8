"""parse_csv keeps every row's physical line, whichever reader takes the file (load/parsing.py).

The fast path (Arrow's reader on the delivered bytes) numbers row i as line i + 2, which is only
right when the file has no blank lines: Arrow skips them silently. A blank line must therefore send
the file to the careful reader, with LF and with CRLF line ends, and a BOM before the header must not
reach the data.
"""

from __future__ import annotations

import pytest

from anpr_warehouse.duckdb_settings import connect_in_memory
from anpr_warehouse.load.checks_legacy import check_legacy
from anpr_warehouse.load.checks_v1 import check_v1
from anpr_warehouse.load.parsing import parse_csv
from anpr_warehouse.load.problems import Collector
from anpr_warehouse.load.reader import read_delivery
from anpr_warehouse.load.validate import scan_for_plates

HEADER = ("Id", "Value")


def _parse(data: bytes) -> tuple[list[str], list[int], Collector]:
    problems = Collector()
    parsed = parse_csv("T.csv", data.decode("utf-8").removeprefix("\ufeff"), ",", HEADER, problems, data)
    assert parsed is not None, problems.problems
    return parsed.column("Id"), parsed.column("_line"), problems


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_blank_line_keeps_the_lines_of_the_rows_after_it(end):
    data = f"Id,Value{end}1,10{end}{end}2,20{end}".encode()

    ids, lines, problems = _parse(data)

    assert ids == ["1", "2"]
    assert lines == [2, 4]  # the blank line 3 counts; Arrow's reader would say 3
    assert not problems.problems


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_plain_file_with_a_bom_reads_its_rows_from_the_delivered_bytes(end):
    data = f"\ufeffId,Value{end}1,10{end}2,20{end}".encode()

    ids, lines, problems = _parse(data)

    assert ids == ["1", "2"]
    assert lines == [2, 3]
    assert not problems.problems


def test_a_wrong_header_is_one_problem_on_line_1():
    problems = Collector()
    data = b"Id,Waarde\n1,10\n"

    assert parse_csv("T.csv", data.decode(), ",", HEADER, problems, data) is None
    assert [(p.rule, p.line) for p in problems.problems] == [("header", 1)]


@pytest.mark.parametrize("layout", ["v1", "legacy"])
def test_a_checked_file_keeps_no_text(deliveries, layout):
    """The plate guard keeps each plain file's text for the parser; parsing releases it (reader.RawDelivery.parse),
    so a month's texts do not stay in memory through every check. The parsed rows stay."""
    raw, read_problems = read_delivery(deliveries[layout])
    problems = Collector()
    scan_for_plates(raw, problems)
    assert not read_problems and not problems and raw.plain_fields  # split by the guard, texts kept for the parser
    con = connect_in_memory()
    try:
        checked = (check_v1 if layout == "v1" else check_legacy)(raw, con, problems)
    finally:
        con.close()
    assert checked is not None, problems.summarise()
    assert raw.plain_fields == {}
    assert min(len(table) for table in checked.tables.values()) > 0
