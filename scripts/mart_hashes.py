"""Row-for-row fingerprints of every mart table, to prove a change to the build left the marts equal.

Why: a faster build is only acceptable if it produces the same marts. Run it on a warehouse built before a
change (`--save before.json`) and on one built after (`--compare before.json`); it prints one line per table
and `tables N/N IDENTICAL` when every table has the same columns (names and types, in order), the same row
count and the same order-independent hash of its rows (the sum of DuckDB's per-row hash over the whole row).

    .venv/bin/python scripts/mart_hashes.py WAREHOUSE --save before.json
    .venv/bin/python scripts/mart_hashes.py WAREHOUSE --compare before.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb


def fingerprints(warehouse: Path, schema: str) -> dict[str, dict]:
    """{table: {columns, rows, hash}} for every base table of `schema` (views are left out: they store nothing)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
                [schema],
            ).fetchall()
        ]
        result = {}
        for table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            rows, row_hash = con.execute(
                f'select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from "{schema}"."{table}" as t'
            ).fetchone()
            result[table] = {"columns": [list(c) for c in columns], "rows": rows, "hash": row_hash}
        return result
    finally:
        con.close()


def compare(before: dict[str, dict], after: dict[str, dict]) -> int:
    """Prints one line per table and the verdict; returns the number of tables that differ."""
    differ = 0
    for table in sorted(before.keys() | after.keys()):
        old, new = before.get(table), after.get(table)
        if old == new:
            print(f"  {table}: identical ({new['rows']} rows)")
            continue
        differ += 1
        if old is None or new is None:
            print(f"  {table}: only {'after' if old is None else 'before'}")
        elif old["columns"] != new["columns"]:
            print(f"  {table}: columns differ")
        else:
            print(f"  {table}: rows {old['rows']} -> {new['rows']}, hash {'same' if old['hash'] == new['hash'] else 'differs'}")
    total = len(before.keys() | after.keys())
    print(f"tables {total - differ}/{total} {'IDENTICAL' if differ == 0 else 'DIFFER'}")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--schema", default="marts")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    action.add_argument("--compare", type=Path, help="compare with fingerprints saved earlier")
    args = parser.parse_args()
    now = fingerprints(args.warehouse, args.schema)
    if args.save:
        args.save.write_text(json.dumps(now, indent=1))
        print(f"{len(now)} tables fingerprinted into {args.save}")
        return
    sys.exit(1 if compare(json.loads(args.compare.read_text()), now) else 0)


if __name__ == "__main__":
    main()
