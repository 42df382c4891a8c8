"""The door's set-based checks count and list what they find exactly.

The row rules of a table are counted together in one pass and listed only when broken
(`parsing.run_rules`), and a rule's overflow count comes from the same query as its first
rows: a delivery breaking many rows of several rules must still list the first 20 of each
rule by line, in the contract's rule order, and count the rest exactly.
"""

from __future__ import annotations

from pathlib import Path

from anpr_warehouse.load.problems import PROBLEMS_PER_RULE
from anpr_warehouse.load.validate import check_delivery

from .faulty import refresh_manifest

T01 = "T01_Observations.csv"


def _break_t01(folder: Path) -> tuple[list[int], list[int]]:
    """Writes `1.0` as the Value of every third published cell and `H24` as the Hour of rows 5-8.

    Returns the physical lines of the broken values and of the broken hours.
    """
    path = folder / T01
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    names = header.split(",")
    value, attribute, hour = names.index("Value"), names.index("ValueAttribute"), names.index("Hour")
    value_lines, hour_lines = [], []
    published = 0
    for i, line in enumerate(rows):
        fields = line.split(",")
        if fields[attribute] == "None":
            published += 1
            if published % 3 == 0:
                fields[value] = "1.0"
                value_lines.append(i + 2)
        if 5 <= i + 2 <= 8:
            fields[hour] = "H24"
            hour_lines.append(i + 2)
        rows[i] = ",".join(fields)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    refresh_manifest(folder)
    return value_lines, hour_lines


def test_many_broken_rows_are_listed_by_line_and_counted(copy_delivery):
    folder = copy_delivery("v1")
    value_lines, hour_lines = _break_t01(folder)
    assert len(value_lines) > PROBLEMS_PER_RULE + 5

    checked, problems = check_delivery(folder)

    assert checked is None
    values = [p for p in problems if p.rule == "value" and p.file == T01 and p.line is not None]
    assert [p.line for p in values] == value_lines[:PROBLEMS_PER_RULE]
    assert values[0].message.startswith("Value '1.0' is not a plain whole number")
    more = [p for p in problems if p.rule == "value" and p.line is None]
    assert [(p.file, p.message) for p in more] == [
        (T01, f"... and {len(value_lines) - PROBLEMS_PER_RULE} more problem(s) of this kind")
    ]
    hours = [p for p in problems if p.rule == "unknown-code" and p.file == T01 and p.line is not None]
    assert [(p.line, p.message) for p in hours] == [(line, "Hour 'H24' is not H00..H23") for line in hour_lines]
    # The contract's order within a table: identifiers and codes before values.
    assert problems.index(hours[-1]) < problems.index(values[0])
    # A table with broken rows is not judged on its totals (they would only echo the broken rows).
    assert not [p for p in problems if p.file == T01 and p.rule in ("totals", "rounding")]


def test_a_clean_delivery_has_no_problems(copy_delivery):
    checked, problems = check_delivery(copy_delivery("v1"))
    assert problems == []
    assert checked is not None and len(checked.tables[T01]) > 0
