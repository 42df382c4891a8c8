"""Decoding and CSV parsing that keep physical line numbers for every row.

Python's csv module is used rather than DuckDB's reader so that a ragged row,
a bad byte or a wrong header is reported with its exact line, as the contract's
"message that names the file, line and rule" demands.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .problems import Collector

BOM = "\ufeff"


@dataclass
class ParsedTable:
    """A delivered file's rows as text columns plus `_line`, the physical line of each row."""

    file: str
    header: tuple[str, ...]
    table: pa.Table

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> list[str]:
        return self.table.column(name).to_pylist()

    def to_arrow(self) -> pa.Table:
        return self.table


@dataclass(frozen=True)
class PlainFields:
    """A plain file's data lines split into fields by Arrow once, for the plate guard and the parser both.

    Why: the guard needs every distinct field and the parser every row; splitting a month's 14 MB T01
    twice (once as text, once as CSV) cost a delivery ~0.15 CPU s. `table` holds columns `c0`..`cN`
    (as many as the header line has fields) and `_line`.
    """

    delimiter: str
    table: pa.Table
    text: str  # the file as strict UTF-8 without BOM, which `decode` then returns instead of decoding again

    @property
    def columns(self) -> list[pa.ChunkedArray]:
        """The data fields, column by column (without `_line`)."""
        return self.table.columns[:-1]


def delimiter_of(text: str) -> str:
    """`;` when the header line has semicolons and no commas (the legacy layout), else `,`."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    return ";" if ";" in header and "," not in header else ","


def is_plain(text: str) -> bool:
    """No quotes and no blank lines (with LF or CRLF line ends): every line is its fields joined by the delimiter."""
    return '"' not in text and "\n\n" not in text and "\n\r\n" not in text


HEADER_SHOWN = 200  # characters of a wrong header quoted in its problem
MAX_SPLIT_FIELDS = 64  # far above any contract file's header (the widest has 14 columns)


def read_plain_fields(text: str, data: bytes) -> PlainFields | None:
    """Every data line of a plain file split at its delimiter, or None where text and fields could differ.

    `text`: `data` decoded as strict UTF-8, BOM removed (the caller decodes only files that are UTF-8).

    None for anything but a plain file whose every line Arrow splits into the header's number of
    fields: quotes, blank lines, a carriage return that ends no line (Arrow would end a row there),
    an empty header line, a ragged row, bytes that are not UTF-8, a header with more than
    MAX_SPLIT_FIELDS fields. Those keep the text-based paths.
    Why the field bound: Arrow builds a column per header field (about 9 kB each) before any header
    check, so a 600 kB header of 300,000 fields cost 2.8 GB; no contract file has more than a few
    dozen columns, and the text paths refuse such a header in a few MB.
    Blank lines are found by counting (Arrow skips them, so a row would be missing), not by
    searching for two line ends in a row: a search costs three times the count on a 14 MB file.
    """
    if '"' in text:
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):  # `in` first: it stops at the first one
        return None
    end = text.find("\n")
    first_line = (text if end < 0 else text[:end]).rstrip("\r")
    if not first_line.strip():
        return None
    delimiter = delimiter_of(text)
    fields = first_line.count(delimiter) + 1
    if fields > MAX_SPLIT_FIELDS:
        return None
    table = _read_plain(data, delimiter, tuple(f"c{i}" for i in range(fields)))
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if table is None or table.num_rows + 1 != lines:
        return None
    return PlainFields(delimiter, table, text)


def decode(file: str, data: bytes, problems: Collector, fields: PlainFields | None = None) -> str | None:
    """UTF-8 text without BOM; None (and a problem) for bytes that are not UTF-8 or an empty file.

    `fields`: the file as the plate guard already read it (its text decoded once, not twice).
    """
    if fields is not None:
        return fields.text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(file, "encoding", f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8", line)
        return None
    text = text.removeprefix(BOM)
    if not text.strip():
        problems.add(file, "empty-file", "the file is empty (not even a header row)", 1)
        return None
    return text


def parse_csv(
    file: str,
    text: str,
    delimiter: str,
    expected: tuple[str, ...],
    problems: Collector,
    data: bytes | None = None,
    fields: PlainFields | None = None,
) -> ParsedTable | None:
    """Rows as text columns; None when the header is wrong (then nothing else can be checked).

    Plain files (no quotes, no blank lines: every observation table) take Arrow's C++ reader,
    where row i is line i + 2; anything else, or a file Arrow rejects, takes Python's csv module,
    which names the exact line of a ragged row. `data`: the bytes `text` was decoded from, which
    Arrow then reads as they are (its header row, where a BOM would be, is skipped) instead of a
    re-encoded copy: a month's T01 is 14 MB, and every whole-text copy costs the loader CPU.
    `fields`: the same file already split by the plate guard (read_plain_fields), taken as it is.
    """
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    if (fields is not None and fields.delimiter == delimiter) or is_plain(text):
        header = tuple(h.strip() for h in first_line.rstrip("\r").split(delimiter))
        if header != expected:
            _wrong_header(file, header, expected, delimiter, problems)
            return None
        if fields is not None and fields.delimiter == delimiter and fields.table.num_columns == len(expected) + 1:
            return ParsedTable(file, header, fields.table.rename_columns([*expected, "_line"]))
        fast = _read_plain(text.encode("utf-8") if data is None else data, delimiter, expected)
        if fast is not None:
            return ParsedTable(file, header, fast)
    return _read_careful(file, text, delimiter, expected, problems)


def _wrong_header(file: str, header: tuple[str, ...], expected: tuple[str, ...], delimiter: str, problems: Collector) -> None:
    """The header problem, its text cut at HEADER_SHOWN characters: a hostile header can be megabytes long."""
    shown = delimiter.join(header)
    if len(shown) > HEADER_SHOWN:
        shown = f"{shown[:HEADER_SHOWN]}... ({len(header)} fields)"
    problems.add(file, "header", f"header is {shown!r}, expected {delimiter.join(expected)!r}", 1)


def _read_plain(data: bytes, delimiter: str, expected: tuple[str, ...]) -> pa.Table | None:
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            # one thread: Arrow's threads cost twice the CPU on a month's file (measured 35 -> 66 ms), and a
            # parallel load (batch.py) already keeps every core busy with a delivery each
            read_options=pacsv.ReadOptions(use_threads=False, skip_rows=1, column_names=list(expected)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in expected}, strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None  # e.g. a ragged row: the careful reader reports its line
    return table.append_column("_line", _numbers_from(2, table.num_rows))


def _numbers_from(first: int, count: int) -> pa.Array:
    """first, first + 1, ... (`count` of them) as int64, in C++: from a Python range it took ~19 ms per 238,000."""
    return pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), count), start=first - 1)


def _read_careful(file: str, text: str, delimiter: str, expected: tuple[str, ...], problems: Collector) -> ParsedTable | None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = tuple(h.strip() for h in next(reader))
    except (StopIteration, csv.Error) as exc:
        problems.add(file, "header", f"cannot read the header row: {exc}", 1)
        return None
    if header != expected:
        _wrong_header(file, header, expected, delimiter, problems)
        return None
    rows: list[list[str]] = []
    lines: list[int] = []
    width = len(expected)
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != width:
                problems.add(file, "field-count", f"row has {len(row)} fields, expected {width}", reader.line_num)
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        problems.add(file, "csv-syntax", f"malformed CSV: {exc}", reader.line_num)
        return None
    columns = list(zip(*rows)) if rows else [() for _ in expected]
    data = {name: pa.array(values, pa.string()) for name, values in zip(expected, columns)}
    data["_line"] = pa.array(lines, pa.int64())
    return ParsedTable(file, header, pa.table(data))


def report_rows(
    con: duckdb.DuckDBPyConnection, problems: Collector, file: str, rule: str, sql: str, message: str, total: int | None = None
) -> None:
    """Runs `sql` (returning `_line` first, then values) and files one problem per offending row.

    `message` is formatted with the remaining columns as positional arguments. One query gives
    both the first rows and how many there are (a window count); `total`, when the caller
    already counted the offending rows (see `run_rules`), saves even that for a clean rule.
    """
    if total == 0:
        return
    shown = con.execute(f"select *, count(*) over () from ({sql}) order by 1 limit {problems.per_rule}").fetchall()
    if not shown:
        return
    for row in shown:
        problems.add(file, rule, message.format(*row[1:-1]), row[0])
    problems.bump(file, rule, shown[0][-1] - len(shown))


@dataclass(frozen=True)
class RowRule:
    """A rule each row of a view keeps on its own: `condition` is true on an offending row.

    `columns` are what the message shows (formatted into `message` in order), after `_line`.
    `reads`: the one column `condition` reads, if it reads only one: then `run_rules` may decide it
    on that column's distinct values. `proven_clean`: a cheaper argument already showed no row breaks it.
    """

    rule: str
    columns: str
    condition: str
    message: str
    reads: str = ""
    proven_clean: bool = False


@dataclass(frozen=True)
class SetRule:
    """A rule over several rows (duplicates, totals): `sql` returns `_line` first, then the message's values.

    `proven_clean`: a cheaper argument already showed that no row breaks it (see `unique_by_order`),
    so its query is not run.
    """

    rule: str
    sql: str
    message: str
    proven_clean: bool = False


def unique_by_order(table: pa.Table, columns: Sequence[str], as_integers: bool = False) -> bool:
    """True when every row's `columns` are greater than the row before's, which proves no two rows share them.

    Why: a duplicate check is a hash aggregate over every row (a month's T01: ~50 ms for the cell
    key, ~25 ms for `Id`), while CBS writes its tables in order, and comparing each row with the
    next is a fraction of that (~6 ms and ~2 ms). The order is the tuple order of `columns`, text
    compared as bytes (`Id` as integers where asked): two equal rows are never in strictly increasing
    order, so whatever the fields hold, True proves them distinct. False (run the query) for anything
    out of order, or an `Id` that is not an integer.
    """
    count = table.num_rows
    if count < 2:
        return True
    increasing = None  # per row after the first: is it greater than the row before, on the columns seen so far
    for name in reversed(columns):
        column = table.column(name)
        if as_integers:
            try:
                column = pc.cast(column, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return False
        later, earlier = column.slice(1), column.slice(0, count - 1)
        greater = pc.greater(later, earlier)
        increasing = greater if increasing is None else pc.or_(greater, pc.and_(pc.equal(later, earlier), increasing))
    return pc.all(increasing).as_py()


DISTINCT_FROM_ROWS = 20_000  # below this a registered table of distinct values costs more than the scan it saves


def run_rules(
    con: duckdb.DuckDBPyConnection,
    problems: Collector,
    file: str,
    view: str,
    rules: list[RowRule | SetRule],
    rows: pa.Table | None = None,
) -> None:
    """Every rule on one view, problems filed in the order of `rules`.

    The row rules are counted together in one query (one `count(*) filter` per rule); only a rule
    that some row breaks is queried again for its rows and lines. A rule that reads one column
    (`reads`) is counted on that column's distinct values in `rows` (the view's Arrow table), which
    Arrow finds in C++ (~2 ms on a month's T01, where the condition on every row costs ~15 ms): that
    count says only whether some value breaks the rule, which is all the count is for (on tables of
    at least DISTINCT_FROM_ROWS rows: on a small one each registered table costs more than it saves).
    On a small table the set rules are counted in the same query (a scalar subquery each). A clean
    delivery therefore costs one query per table plus, on a big one, one per set rule not proven clean.
    """
    small = rows is None or rows.num_rows < DISTINCT_FROM_ROWS
    # counted first: every row rule, and on a small table every set rule too (there a query costs mostly its overhead)
    counted_rules = [r for r in rules if not r.proven_clean and (isinstance(r, RowRule) or small)]
    counts: dict[int, int] = {}
    if counted_rules:
        distinct: dict[str, str] = {}  # column -> name of its registered distinct values
        counters = ["count(*)"]  # one aggregate at least: the query then returns one row, however many the view has
        for r in counted_rules:
            if isinstance(r, SetRule):
                counters.append(f"(select count(*) from ({r.sql}))")
            elif r.reads and not small:
                if r.reads not in distinct:
                    distinct[r.reads] = f"_distinct_{len(distinct)}"
                    con.register(distinct[r.reads], pa.table({r.reads: pc.unique(rows.column(r.reads))}))
                counters.append(f"(select count(*) filter (where {r.condition}) from {distinct[r.reads]})")
            else:
                counters.append(f"count(*) filter (where {r.condition})")
        try:
            counted = con.execute(f"select {', '.join(counters)} from {view}").fetchall()[0][1:]
        finally:
            for name in distinct.values():
                con.unregister(name)
        counts = {id(r): n for r, n in zip(counted_rules, counted)}
    for r in rules:
        if r.proven_clean:
            continue
        if isinstance(r, RowRule):
            sql = f"select _line, {r.columns} from {view} where {r.condition}"
            report_rows(con, problems, file, r.rule, sql, r.message, total=counts[id(r)])
        else:
            report_rows(con, problems, file, r.rule, r.sql, r.message, total=counts.get(id(r)))


def strict_date_sql(column: str, pattern: str, fmt: str) -> str:
    """SQL that is true when `column` has exactly the pattern's shape and is a real calendar date.

    The regular expression comes first: strptime alone accepts `2025-3-5` and leading
    spaces, which would let one cell hide behind two spellings of its date.
    """
    return f"""(regexp_full_match("{column}", '{pattern}') and try_strptime("{column}", '{fmt}') is not null)"""


def pattern_rule(column: str, pattern: str, message: str, optional: bool = False) -> RowRule:
    """Values of `column` must fully match the regular expression (empty allowed when `optional`)."""
    empty = f"\"{column}\" <> '' and " if optional else ""
    return RowRule("identifier", f'"{column}"', f"{empty}not regexp_full_match(\"{column}\", '{pattern}')", message)


def position_rule(columns: tuple[str, str], bounds: tuple[tuple[float, float], tuple[float, float]], message: str) -> RowRule:
    """Both coordinate columns are numbers inside the given (first, second) ranges.

    `try_cast` throughout, never `cast`: counted in an aggregate's filter (run_rules), DuckDB casts
    every row without stopping at the first true term, and one `Confidential` would raise.
    """
    (a, b), ((a_lo, a_hi), (b_lo, b_hi)) = columns, bounds
    return RowRule(
        "coordinates",
        f'"{a}", "{b}"',
        f"""try_cast("{a}" as double) is null or try_cast("{b}" as double) is null
            or try_cast("{a}" as double) not between {a_lo} and {a_hi} or try_cast("{b}" as double) not between {b_lo} and {b_hi}""",
        message,
    )


def check_pattern(
    con, problems: Collector, file: str, view: str, column: str, pattern: str, message: str, optional: bool = False
) -> None:
    """`pattern_rule` on its own."""
    run_rules(con, problems, file, view, [pattern_rule(column, pattern, message, optional)])


def check_position(
    con,
    problems: Collector,
    file: str,
    view: str,
    columns: tuple[str, str],
    bounds: tuple[tuple[float, float], tuple[float, float]],
    message: str,
) -> None:
    """`position_rule` on its own."""
    run_rules(con, problems, file, view, [position_rule(columns, bounds, message)])
