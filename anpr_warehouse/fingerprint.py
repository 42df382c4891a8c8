"""Inputs fingerprints: what determines an export package or a report page, hashed, so unchanged work is skipped.

A monthly run adds one month per municipality; rewriting every package and page of
every earlier month would cost minutes for nothing, and a vendor would re-download
identical files. Deciding "unchanged" from the delivery register alone is not safe
(a seed such as the ZE access rules, a model, a metric definition or this code can
change what a month shows without a new delivery), so the fingerprint hashes what
the output is actually computed from:

- the code (every file of this package) and the versions of the libraries that write bytes;
- the definitions: dbt's semantic manifest (metrics, saved queries) and the marts' docs and exposures;
- the data: per marts table a hash over the rows in scope (the municipality's months, plus the
  months an offset metric such as "change against the previous month" looks back to), computed by
  DuckDB in one grouped scan per table, never row by row in Python;
- whatever the caller adds (vendor and formats, the package manifest's deliveries and audits, page context).

Every marts table is hashed, not a hand-kept list, so a new fact or dimension is covered without an edit here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import duckdb

CODE_DIR = Path(__file__).resolve().parent
# Libraries whose version can change the bytes written (Parquet writer, SQL results, SVG rendering, templates).
LIBRARIES = ("duckdb", "pyarrow", "metricflow", "dbt-metricflow", "dbt-core", "vl-convert-python", "jinja2")
MUNICIPALITY = "municipality_code"
MONTH = "month_start"
# Offset windows in months a granularity spans at most (a 7-day offset from the 1st reaches the month before).
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
_DAYS_PER = {"day": 1, "week": 7, "hour": 1 / 24}


def sha256_json(value) -> str:
    """The SHA-256 of a value's canonical JSON (sorted keys), the one way every fingerprint is made."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """Every file of the package (modules, templates, boundary data) and the byte-writing libraries' versions."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CODE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(CODE_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for library in LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library}=={version}\0".encode())
    return digest.hexdigest()


def _without_database(node):
    """The semantic manifest without the warehouse's name: dbt names the database after the file, not its content."""
    if isinstance(node, dict):
        return {k: _without_database(v) for k, v in node.items() if k not in ("database", "relation_name")}
    if isinstance(node, list):
        return [_without_database(v) for v in node]
    return node


def definitions_version(semantic_manifest: dict, dbt_manifest: dict) -> str:
    """Metrics, saved queries, the marts' documented columns and the exposures: what packages and pages are made of."""
    nodes = dbt_manifest.get("nodes", {}).values()
    marts = [
        {"name": n["name"], "description": n.get("description"), "columns": n.get("columns")}
        for n in nodes
        if n.get("resource_type") == "model" and n.get("schema") == "marts"
    ]
    exposures = [
        {"name": e["name"], "refs": e.get("refs"), "meta": (e.get("config") or {}).get("meta")}
        for e in dbt_manifest.get("exposures", {}).values()
    ]
    return sha256_json(
        {
            "semantic_manifest": _without_database(semantic_manifest),
            "marts": sorted(marts, key=lambda m: m["name"]),
            "exposures": sorted(exposures, key=lambda e: e["name"]),
        }
    )


def months_back(semantic_manifest: dict) -> int | None:
    """How many months before a month its answers read (offset metrics); None: all history (a cumulative metric)."""
    back = 0
    for metric in semantic_manifest.get("metrics", []):
        params = metric.get("type_params") or {}
        if metric.get("type") == "cumulative":
            window = (params.get("cumulative_type_params") or {}).get("window") or params.get("window")
            if not window:
                return None
            back = max(back, _window_months(window))
        for input_metric in params.get("metrics") or []:
            if input_metric.get("offset_to_grain"):
                back = max(back, 1)
            if input_metric.get("offset_window"):
                back = max(back, _window_months(input_metric["offset_window"]))
    return back


def _window_months(window) -> int:
    """A MetricFlow window ({count, granularity} or '1 month') as whole months it can reach back."""
    if isinstance(window, str):
        count, granularity = window.split()
    else:
        count, granularity = window["count"], window["granularity"]
    count, granularity = int(count), str(granularity).lower().rstrip("s")
    if granularity in _MONTHS_PER:
        return count * _MONTHS_PER[granularity]
    return math.ceil(count * _DAYS_PER.get(granularity, 31) / 28)


def shift_month(month_start: str, months: int) -> str:
    """YYYY-MM-01 moved by a number of months (negative: back)."""
    day = dt.date.fromisoformat(month_start)
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, 1).isoformat()


@dataclass(frozen=True)
class Scope:
    """The rows an output is computed from: these municipalities, months first..last (YYYY-MM-01, inclusive)."""

    municipalities: tuple[str, ...]
    first_month: str | None  # None: from the first month on (all history)
    last_month: str


class MartHashes:
    """Row hashes of every marts table per municipality and month, read in one grouped scan per table.

    Built once per command for everything it will write, then asked per package or page: a table with
    municipality and month is cut to the scope, a table with only the municipality to the municipalities,
    any other table (code lists, time spine) is hashed whole.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, municipalities: list[str], last_month: str, first_month: str | None):
        self.tables: dict[str, dict[tuple, tuple[int, int]]] = {}  # table -> key values -> (rows, hash sum)
        self.keys: dict[str, tuple[str, ...]] = {}  # table -> the key columns it is cut by
        columns: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'marts' and database_name = current_database()"
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        for table in sorted(columns):
            keys = [k for k in (MUNICIPALITY, MONTH) if k in columns[table]]
            where, params = [], []
            if MUNICIPALITY in keys:
                where.append(f"{MUNICIPALITY} in (select unnest(?))")
                params.append(list(municipalities))
            if MONTH in keys:
                where.append(f"{MONTH} <= ?" + (f" and {MONTH} >= ?" if first_month else ""))
                params += [last_month] + ([first_month] if first_month else [])
            key_list = ", ".join(f"{k}::varchar" for k in keys)
            sql = (
                f"select {key_list + ', ' if keys else ''}count(*), coalesce(sum(hash(t)), 0)::varchar "
                f"from marts.{table} t{' where ' + ' and '.join(where) if where else ''}"
                f"{' group by all' if keys else ''}"
            )
            self.tables[table] = {tuple(row[: len(keys)]): (row[-2], int(row[-1])) for row in con.execute(sql, params).fetchall()}
            self.keys[table] = tuple(keys)

    def of(self, scope: Scope) -> dict[str, str]:
        """table -> 'rows:hash' over the scope's rows (an order-free sum of row hashes: the same rows, the same text)."""
        result = {}
        for table, groups in self.tables.items():
            count = total = 0
            for key, (rows, hashed) in groups.items():
                if not _in_scope(dict(zip(self.keys[table], key)), scope):
                    continue
                count, total = count + rows, total + hashed
            result[table] = f"{count}:{total % 2**64}"
        return result


def _in_scope(key: dict[str, str], scope: Scope) -> bool:
    if MUNICIPALITY in key and key[MUNICIPALITY] not in scope.municipalities:
        return False
    if MONTH in key:
        month = key[MONTH][:10]
        return month <= scope.last_month and (scope.first_month is None or month >= scope.first_month)
    return True
