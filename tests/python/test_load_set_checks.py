"""The loader's checks as set operations (issue 11): the cheaper roads judge exactly as the long ones.

Three shortcuts, each pinned against the path it replaces on real generated files and on the
edge cases where the two could part: the plate guard's field survey (distinct values of Arrow's
split fields) against the text survey; the duplicate checks proven clean by row order against a
delivery whose rows are out of order; and the loader-specific fault corpus (faults_loadsql.py),
refused through the CLI with the warehouse unchanged.
"""

from __future__ import annotations

import pytest

from anpr_warehouse.load.parsing import parse_csv, read_plain_fields
from anpr_warehouse.load.plate_guard import _survey, _survey_fields, scan_text
from anpr_warehouse.load.problems import Collector
from anpr_warehouse.load.validate import check_delivery

from . import test_load
from .faults_loadsql import LOADSQL_FAULTS, _data_rows_reversed
from .faulty import refresh_manifest

# Plain files (no quotes, no blank lines) where the field survey must find what the text survey finds.
PLAIN_TEXTS = {
    "lf": "Identifier,Title,Description\nA,Goed,x\nB,VB-12-CD,y\n",
    "crlf": "Identifier,Title,Description\r\nA,Goed,x\r\nB,zie VB-12-CD,y\r\n",
    "no final line end": "Identifier,Title,Description\nA,Goed,x\nB,12-VBC-3,y",
    "semicolon inside a field": "Identifier,Title,Description\nA,zie;VB-12-CD,x\nB,12;34,y\n",
    "legacy semicolons, comma inside": "Locatie;Naam;Zone\nL1;a,VB-12-CD;Z\nL2;Kerkstraat 1,3511 AB;Z\n",
    "digests and long numbers": f"Id,Value\n1,{'9' * 32}\n2,{'a1B2' * 6}\n3,{'e3b0c442' * 8}\n",
    "control character": "Identifier,Title\nA,tab\there\nB,bell\x07\n",
    "header only": "Identifier,Title,Description\n",
    "empty fields": "Identifier,Title,Description\nA,,\n,,\n",
    "as wide as the field bound": "Identifier" + ",x" * 63 + "\nA" + ",VB-12-CD" * 63 + "\n",
}

# Files the field survey must leave to the text survey: Arrow's split could differ from the text's.
NOT_PLAIN_TEXTS = {
    "quoted": 'Identifier,Title\nA,"Landbouw, bosbouw"\n',
    "blank line": "Identifier,Title\nA,x\n\nB,y\n",
    "blank CRLF line": "Identifier,Title\r\nA,x\r\n\r\nB,y\r\n",
    "carriage return inside a line": "Identifier,Title\nA,x\rB\nC,y\n",
    "ragged row": "Identifier,Title\nA,x,extra\n",
    "empty header line": "\nIdentifier,Title\nA,x\n",
    # Arrow would build a column per field before any header check (gigabytes for a hostile header)
    "wider than the field bound": "Identifier" + ",x" * 64 + "\nA" + ",VB-12-CD" * 64 + "\n",
}


@pytest.mark.parametrize("name", PLAIN_TEXTS)
def test_field_survey_finds_what_the_text_survey_finds(name):
    text = PLAIN_TEXTS[name]
    fields = read_plain_fields(text, text.encode())
    assert fields is not None
    assert _survey_fields(text, fields) == _survey(text)
    assert scan_text(text, fields=fields) == scan_text(text)


@pytest.mark.parametrize("name", NOT_PLAIN_TEXTS)
def test_files_arrow_could_split_differently_keep_the_text_survey(name):
    text = NOT_PLAIN_TEXTS[name]
    assert read_plain_fields(text, text.encode()) is None


def test_a_field_too_long_for_the_field_survey_is_judged_on_the_text():
    text = "Identifier,Title\nA," + "x" * 1001 + "\n"
    fields = read_plain_fields(text, text.encode())
    assert fields is not None and _survey_fields(text, fields) is None
    assert [(f.rule, f.line) for f in scan_text(text, fields=fields)] == [("text", 2)]


def test_every_file_of_a_generated_delivery_surveys_alike(deliveries):
    for kind in ("v1", "legacy"):
        for path in sorted(deliveries[kind].iterdir()):
            data = path.read_bytes()
            text = data.decode("utf-8")
            fields = read_plain_fields(text, data)
            if "Observations" in path.name or "uur" in path.name:  # the big tables take the field road
                assert fields is not None, path.name
            if fields is not None:
                assert _survey_fields(text, fields) == _survey(text), path.name


def test_rows_out_of_order_are_judged_like_rows_in_order(copy_delivery):
    """Unsorted rows take the duplicate queries instead of the order proof: the same verdict, the same cells."""
    sorted_folder = copy_delivery("v1")
    unsorted_folder = sorted_folder.with_name("unsorted")
    unsorted_folder.mkdir()
    for path in sorted_folder.iterdir():
        lines = path.read_text(encoding="utf-8").split("\n")
        is_observations = path.name.startswith("T0")
        (unsorted_folder / path.name).write_text(
            "\n".join(_data_rows_reversed(lines) if is_observations else lines), encoding="utf-8"
        )
    refresh_manifest(unsorted_folder)

    in_order, problems_in_order = check_delivery(sorted_folder)
    out_of_order, problems_out_of_order = check_delivery(unsorted_folder)

    assert problems_in_order == problems_out_of_order == []
    for file, parsed in in_order.tables.items():
        cells = sorted(parsed.table.drop_columns(["_line"]).to_pylist(), key=str)
        assert sorted(out_of_order.tables[file].table.drop_columns(["_line"]).to_pylist(), key=str) == cells, file


@pytest.mark.parametrize("fault", LOADSQL_FAULTS, ids=[f.name for f in LOADSQL_FAULTS])
def test_loadsql_fault_is_refused_whole(fault, copy_delivery, warehouse, capsys):
    test_load.test_faulty_delivery_is_refused_whole(fault, copy_delivery, warehouse, capsys)


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "quoted"])
def test_a_hostile_header_is_refused_in_one_short_line(plain):
    """A header of 5,000 fields: refused on its rule, quoted only in part, on both readers (plain and careful)."""
    header = "Identifier" + ",x" * 5000 + ("" if plain else ',"q"')
    text = header + "\nA" + ",1" * (5000 + (0 if plain else 1)) + "\n"
    problems = Collector()
    assert parse_csv("Wide.csv", text, ",", ("Identifier", "Title", "Description"), problems) is None
    [problem] = problems.problems
    assert problem.rule == "header"
    assert problem.message.startswith("header is 'Identifier,x,x")
    assert problem.message.endswith(f"... ({5001 + (0 if plain else 1)} fields)', expected 'Identifier,Title,Description'")
    assert len(problem.message) < 300
