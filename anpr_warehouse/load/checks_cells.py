"""Checks across the cells of a v1 observation table: totals, daylight saving time, rounding.

These are the contract's settled rules that no single row can break on its own
("Edge cases and limits", paragraphs Totals and Hours around daylight saving time,
and the Observations paragraph on which total combinations a table holds):

- Minimum totals: for each combination of the dimensions without a total (T01 location,
  date and hour; T02 location and date; T03-T06 zone) and each measure present, the row
  with every other dimension at T001 must exist. Any further totals are CBS's choice
  (nested tables are valid), so nothing more is required.
- A published total below one of its published parts (same cell with exactly one
  dimension at T001 instead of a code) by more than `rounding_base - 1` is refused.
- On the last Sunday of March the local clock skips 02:00: every T01 cell of `H02` that
  day must be `Impossible`. (The autumn day's `H02` holds both clock hours once; the
  duplicate-cell check already refuses a second one.)
- Every published value is a multiple of `rounding_base` (the marts' tests assume it).

All checks are set-based SQL on the in-memory DuckDB views of the delivery; values are
compared as integers only after `try_cast`, so a malformed value (refused by its own rule)
cannot raise here.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import contract as c
from .delivery import DeliveryMeta
from .parsing import DISTINCT_FROM_ROWS, SetRule, report_rows
from .problems import Collector


def _quoted(columns: tuple[str, ...]) -> list[str]:
    return [f'"{column}"' for column in columns]


def minimum_totals_rule(table: c.ObservationTable, view: str) -> SetRule:
    """Every measure and combination of the non-total dimensions has its all-T001 row."""
    keys = ("Measure",) + c.minimum_total_keys(table)
    totals = c.total_dimensions(table)
    all_total = " and ".join(f"{column} = '{c.TOTAL}'" for column in _quoted(totals))
    key_sql = ", ".join(_quoted(keys))
    described = ", ".join(f"{k}={{{i}}}" for i, k in enumerate(keys))
    return SetRule(
        "totals",
        f"select min(_line), {key_sql} from {view} group by {key_sql} having count(*) filter (where {all_total}) = 0",
        f"no total row ({', '.join(f'{d}={c.TOTAL}' for d in totals)}) for {described}",
    )


def totals_not_below_parts_rules(table: c.ObservationTable, view: str, rounding_base: int) -> list[SetRule]:
    """A published total may be below a published part only by rounding (at most `rounding_base - 1`).

    Per total dimension, one grouped pass over the published cells: a group is a total and
    its parts (every other coordinate and the measure equal); its largest part is compared
    with its total. (A hash aggregate straight on the delivered view: cheaper than joining
    the table to itself or materialising the published cells first.)
    """
    value = "try_cast(Value as bigint)"
    rules = []
    for dimension in c.total_dimensions(table):
        same = ", ".join(_quoted(("Measure",) + tuple(d for d in table.dimensions if d != dimension)))
        total, part = f"\"{dimension}\" = '{c.TOTAL}'", f"\"{dimension}\" <> '{c.TOTAL}'"
        rules.append(
            SetRule(
                "totals",
                f"""select total_line, total, part_code, part, part_line from (
                    select
                        max(_line) filter (where {total}) as total_line,
                        max({value}) filter (where {total}) as total,
                        arg_max("{dimension}", {value}) filter (where {part}) as part_code,
                        max({value}) filter (where {part}) as part,
                        arg_max(_line, {value}) filter (where {part}) as part_line,
                    from {view}
                    where ValueAttribute = 'None'
                    group by {same}
                )
                where part - total > {rounding_base - 1}""",
                "total {0} is below its part " + dimension + "={1} (value {2}, line {3}) by more than rounding",
            )
        )
    return rules


def rounding_rule(view: str, rounding_base: int) -> SetRule:
    """Every published value is a multiple of the rounding base."""
    return SetRule(
        "rounding",
        f"""select _line, Value from {view}
            where ValueAttribute = 'None' and {_off_base(rounding_base)}""",
        "Value {0} is not a multiple of the delivery's sdc.rounding_base " + str(rounding_base),
    )


def _off_base(rounding_base: int) -> str:
    return f"try_cast(Value as bigint) % {rounding_base} <> 0"


def _failing_counts(
    con: duckdb.DuckDBPyConnection,
    table: c.ObservationTable,
    view: str,
    rounding_base: int,
    rules: list[SetRule],
    rows: pa.Table | None,
) -> list[int | None]:
    """For each of `rules` (minimum totals, below-parts per total dimension, rounding): how many rows
    it would report (0 skips its query), or None: not counted, run its query.

    Why: a big table (a month's T01 and T02) gets the shortcuts that save scans of every row
    (`_count_single_total`, `_values_on_base`); a small one (T03-T06, a few thousand rows) costs
    mostly DuckDB's per-query overhead, so every rule is counted in one query of scalar subqueries
    instead of one query each.
    """
    if rows is not None and rows.num_rows >= DISTINCT_FROM_ROWS:
        counts: list[int | None] = [None] * len(rules)
        if len(rules) == 3:  # one total dimension: minimum totals and below-parts group alike
            counts[0], counts[1] = _count_single_total(con, table, view, rounding_base)
        counts[-1] = 0 if _values_on_base(con, rows, rounding_base) else None
        return counts
    return list(con.execute("select " + ", ".join(f"(select count(*) from ({r.sql}))" for r in rules)).fetchall()[0])


def _values_on_base(con: duckdb.DuckDBPyConnection, rows: pa.Table, rounding_base: int) -> bool:
    """True when no distinct Value is off the rounding base (the rounding rule's SQL expression on the
    few hundred distinct values Arrow finds in C++): then no cell can be, whatever its ValueAttribute."""
    con.register("_distinct_values", pa.table({"Value": pc.unique(rows.column("Value"))}))
    try:
        return con.execute(f"select count(*) from _distinct_values where {_off_base(rounding_base)}").fetchall()[0][0] == 0
    finally:
        con.unregister("_distinct_values")


def _count_single_total(
    con: duckdb.DuckDBPyConnection, table: c.ObservationTable, view: str, rounding_base: int
) -> tuple[int | None, int | None]:
    """(groups without their total row, groups with a total below a part) in one grouped pass, for a table
    with one total dimension (T01), else (None, None): nothing counted.

    Why: with one total dimension both checks group by the same key (the measure and every other
    dimension), so one hash aggregate over a month's 238,000 T01 rows serves both (saving ~25 ms a
    delivery); a check whose count is not 0 then runs its own query for the rows it reports.
    """
    totals = c.total_dimensions(table)
    if len(totals) != 1 or tuple(d for d in table.dimensions if d != totals[0]) != c.minimum_total_keys(table):
        return None, None
    keys = ", ".join(_quoted(("Measure",) + c.minimum_total_keys(table)))
    # each row's two facts computed once, not once per aggregate: ~11 ms less on a month's T01
    missing, below = con.execute(
        f"""select count(*) filter (where total_rows = 0), count(*) filter (where part - total_value > {rounding_base - 1})
            from (
                select
                    count(*) filter (where is_total) as total_rows,
                    max(published) filter (where is_total) as total_value,
                    max(published) filter (where not is_total) as part,
                from (
                    select
                        {keys},
                        "{totals[0]}" = '{c.TOTAL}' as is_total,
                        case when ValueAttribute = 'None' then try_cast(Value as bigint) end as published,
                    from {view}
                )
                group by {keys}
            )"""
    ).fetchall()[0]
    return missing, below


def check_spring_forward_hour(con: duckdb.DuckDBPyConnection, problems: Collector, meta: DeliveryMeta, view: str) -> None:
    """T01 cells of the hour the clock skips must be Impossible."""
    day = c.spring_forward_day(meta.year, meta.month)
    if day is None:
        return
    report_rows(
        con,
        problems,
        c.OBSERVATION_TABLES["T01"].file,
        "dst",
        f"""select _line, Value, ValueAttribute from {view}
            where Date = '{day.isoformat()}' and Hour = '{c.DST_GAP_HOUR}' and ValueAttribute <> 'Impossible'""",
        f"{day.isoformat()} {c.DST_GAP_HOUR} does not exist (clocks go from 02:00 to 03:00): "
        "the cell must be Impossible, not Value {0!r} ValueAttribute {1!r}",
    )


def check_cells(
    con: duckdb.DuckDBPyConnection,
    problems: Collector,
    meta: DeliveryMeta,
    views: dict[str, str],
    tables: dict[str, pa.Table] | None = None,
) -> None:
    """Every cross-cell rule on every observation table; `views` maps table code -> view name,
    `tables` (optional) table code -> the view's Arrow table, for the shortcuts of `_failing_counts`.

    A table with a problem in its rows is skipped: a misspelt date or code would only show
    up again here as a "missing total", burying the real problem.
    """
    broken = {p.file for p in problems.problems}
    for code, table in c.OBSERVATION_TABLES.items():
        if table.file in broken:
            continue
        view = views[code]
        rules = [
            minimum_totals_rule(table, view),
            *totals_not_below_parts_rules(table, view, meta.rounding_base),
            rounding_rule(view, meta.rounding_base),
        ]
        counts = _failing_counts(con, table, view, meta.rounding_base, rules, (tables or {}).get(code))
        for rule, count in zip(rules, counts):
            report_rows(con, problems, table.file, rule.rule, rule.sql, rule.message, count)
    if c.OBSERVATION_TABLES["T01"].file not in broken:
        check_spring_forward_hour(con, problems, meta, views["T01"])
