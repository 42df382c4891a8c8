"""A delivery's observation tables as cells: what the audit reads, from a delivery or the warehouse.

Both sources give the same thing (cells with their table, line, dimensions,
value and attribute, plus the code lists), so the audit of a delivery folder and
of the same delivery once loaded cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import contract as c
from ..errors import UserError

DEFAULT_MIN_CELL = 10
DEFAULT_ROUNDING_BASE = 5


@dataclass(frozen=True, slots=True)
class Cell:
    """One observation row: `dims` in the order of its table's dimension columns."""

    table: str  # "T01" ... "T06"
    line: int
    measure: str
    dims: tuple[str, ...]
    value: int | None
    attribute: str

    def label(self) -> str:
        names = c.OBSERVATION_TABLES[self.table].dimensions
        return " ".join(f"{n}={v}" for n, v in zip(names, self.dims))

    def where(self) -> str:
        return f"{c.OBSERVATION_TABLES[self.table].file}:{self.line}"


@dataclass
class DeliveryCells:
    delivery_id: str
    min_cell: int
    rounding_base: int
    tables: dict[str, list[Cell]]
    code_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)  # dimension -> identifiers without T001
    notes: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(cells) for cells in self.tables.values())

    def confidential(self) -> int:
        return sum(cell.attribute == "Confidential" for cells in self.tables.values() for cell in cells)


def _cells(code: str, lines, measures, dim_columns, values, attributes) -> list[Cell]:
    return [
        Cell(code, int(line), measure, dims, int(value) if value not in (None, "") else None, attribute)
        for line, measure, dims, value, attribute in zip(lines, measures, zip(*dim_columns), values, attributes)
    ]


def _sdc(delivery_id: str, min_cell: int | None, rounding_base: int | None) -> tuple[int, int, list[str]]:
    notes = []
    if min_cell is None or rounding_base is None:
        notes.append(
            f"{delivery_id} states no SDC parameters; assumed min_cell {DEFAULT_MIN_CELL}, rounding base {DEFAULT_ROUNDING_BASE}"
        )
    return min_cell or DEFAULT_MIN_CELL, rounding_base or DEFAULT_ROUNDING_BASE, notes


def cells_from_checked(checked) -> DeliveryCells:
    """From a delivery that passed the loader's checks (`anpr_warehouse.load.validate.check_delivery`)."""
    meta = checked.meta
    if checked.layout != "v1":
        raise UserError(
            f"{meta.delivery_id}: the audit reads layout {c.CONTRACT_V1} only (legacy deliveries carry no cell status beyond '.')"
        )
    tables = {}
    for code, table in c.OBSERVATION_TABLES.items():
        parsed = checked.tables.get(table.file)
        if parsed is None:
            continue
        tables[code] = _cells(
            code,
            parsed.column("_line"),
            parsed.column("Measure"),
            [parsed.column(d) for d in table.dimensions],
            parsed.column("Value"),
            parsed.column("ValueAttribute"),
        )
    code_lists = {}
    for dimension, file in c.DIMENSION_CODE_LIST.items():
        if file in checked.tables:
            code_lists[dimension] = tuple(i for i in checked.tables[file].column("Identifier") if i != c.TOTAL)
    min_cell, base, notes = _sdc(meta.delivery_id, meta.min_cell, meta.rounding_base)
    return DeliveryCells(meta.delivery_id, min_cell, base, tables, code_lists, notes)


def cells_from_path(path: Path) -> DeliveryCells:
    """A delivery folder or zip, read and checked by the loader's own reader; refused ones raise UserError."""
    from ..load.validate import check_delivery

    checked, problems = check_delivery(path)
    if checked is None:
        lines = "\n  ".join(str(p) for p in problems)
        raise UserError(f"{path} does not pass the loader's checks, so it cannot be audited:\n  {lines}")
    return cells_from_checked(checked)


def cells_from_warehouse(con: duckdb.DuckDBPyConnection, delivery_id: str, db: str = "") -> DeliveryCells:
    """A delivery already loaded: its raw observation rows (as delivered) and its register entry."""
    prefix = f"{db}." if db else ""
    entry = con.execute(
        f"select layout, sdc_min_cell, sdc_rounding_base from {prefix}raw.cbs_deliveries where delivery_id = ?", [delivery_id]
    ).fetchone()
    if entry is None:
        raise UserError(f"no delivery {delivery_id!r} in the warehouse register (see anpr deliveries)")
    if entry[0] != "v1":
        raise UserError(f"{delivery_id}: the audit reads layout {c.CONTRACT_V1} only")
    tables = {}
    for code, table in c.OBSERVATION_TABLES.items():
        dims = ", ".join(f'"{d}"' for d in table.dimensions)
        rows = con.execute(
            f"""select line_number, "Measure", {dims}, "Value", "ValueAttribute"
                from {prefix}raw.cbs_v1_{code.lower()}_observations where delivery_id = ? order by line_number""",
            [delivery_id],
        ).fetchall()
        if rows:
            columns = list(zip(*rows))
            tables[code] = _cells(code, columns[0], columns[1], columns[2:-2], columns[-2], columns[-1])
    code_lists: dict[str, list[str]] = {}
    stems = {file.removesuffix(".csv"): dim for dim, file in c.DIMENSION_CODE_LIST.items()}
    for code_list, identifier in con.execute(
        f"""select code_list, "Identifier" from {prefix}raw.cbs_v1_code_lists where delivery_id = ? and "Identifier" <> ?""",
        [delivery_id, c.TOTAL],
    ).fetchall():
        if code_list in stems:
            code_lists.setdefault(stems[code_list], []).append(identifier)
    min_cell, base, notes = _sdc(delivery_id, entry[1], entry[2])
    return DeliveryCells(delivery_id, min_cell, base, tables, {k: tuple(v) for k, v in code_lists.items()}, notes)
