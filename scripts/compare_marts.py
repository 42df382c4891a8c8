"""Fingerprint of what the warehouse answers, to prove a restructuring changed no number.

Builds a small fixed sample (both layouts, a correction, nested totals) into a fresh
warehouse with the real CLI, then writes one JSON: every `marts` table's row count and
order-independent row hash, and every standard question's answer (and its total) per
municipality. Run it before and after a change and compare:

    .venv/bin/python scripts/compare_marts.py --out /tmp/before.json
    .venv/bin/python scripts/compare_marts.py --out /tmp/after.json --compare /tmp/before.json

With --compare, tables are hashed over the columns the baseline knew (so an added
column does not count as a change) and the exit code is 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

BIN = Path(sys.executable).parent
SAMPLE = (  # (municipality, month, extra generate arguments)
    ("GM0344", "2025-03", ["--through", "2025-04", "--seed", "11"]),
    ("GM0344", "2025-03", ["--version", "2", "--seed", "12"]),
    ("GM0363", "2025-03", ["--totals", "nested", "--seed", "13"]),
    ("GM0599", "2025-02", ["--layout", "legacy", "--seed", "14"]),
)
MUNICIPALITIES = ("GM0344", "GM0363", "GM0599")


def _anpr(*args: str) -> None:
    proc = subprocess.run([str(BIN / "anpr"), *args], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        sys.exit(f"anpr {args[0]} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}")


def build_sample(workdir: Path) -> Path:
    """Generates, loads (in order, so the correction follows its original) and builds."""
    warehouse = workdir / "compare.duckdb"
    for i, (municipality, month, extra) in enumerate(SAMPLE):
        out = workdir / f"deliveries{i}"
        _anpr(
            "generate",
            "--municipality",
            municipality,
            "--month",
            month,
            "--locations",
            "4",
            "--jobs",
            "1",
            *extra,
            "--out",
            str(out),
        )
        for delivery in sorted(out.iterdir()):
            _anpr("load", str(delivery), "--warehouse", str(warehouse))
    _anpr("build", "--warehouse", str(warehouse))
    return warehouse


def table_fingerprints(warehouse: Path, columns_from: dict | None) -> dict:
    """Row count and sum of row hashes per marts table, over the baseline's columns when given."""
    con = duckdb.connect(str(warehouse), read_only=True)
    tables = [
        r[0]
        for r in con.sql("select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()
    ]
    result = {}
    for table in tables:
        columns = [
            r[0]
            for r in con.sql(
                f"select column_name from information_schema.columns where table_schema = 'marts' "
                f"and table_name = '{table}' order by ordinal_position"
            ).fetchall()
        ]
        if columns_from and table in columns_from:
            columns = [c for c in columns_from[table]["columns"] if c in columns] or columns
        row = ", ".join(f'"{c}"' for c in columns)
        count, digest = con.execute(f"select count(*), sum(hash(row({row})))::varchar from marts.{table}").fetchall()[0]
        result[table] = {"rows": count, "hash": digest, "columns": columns}
    con.close()
    return result


def _plain(value):
    if isinstance(value, float):
        return round(value, 10)
    return value if value is None or isinstance(value, (int, str, bool)) else str(value)


def question_answers(warehouse: Path) -> dict:
    """Every standard question (and its total) for every municipality over all months."""
    from anpr_warehouse.metrics import MetricLayer
    from anpr_warehouse.standard_questions import QUESTIONS, answer, total_for

    layer = MetricLayer(warehouse)
    answers = {}
    for municipality in MUNICIPALITIES:
        for question in QUESTIONS:
            records = answer(layer, question, municipality, None).to_records()
            total = total_for(layer, question, municipality, None)
            answers[f"{municipality}/{question.name}"] = {
                "rows": [{k: _plain(v) for k, v in r.items()} for r in records],
                "total": None if total is None else [{k: _plain(v) for k, v in r.items()} for r in total.to_records()],
            }
    return answers


def compare(before: dict, after: dict) -> list[str]:
    differences = []
    for table, fp in before["tables"].items():
        got = after["tables"].get(table)
        if got is None:
            differences.append(f"table {table} is missing")
        elif (got["rows"], got["hash"]) != (fp["rows"], fp["hash"]):
            differences.append(f"table {table}: {fp['rows']} rows -> {got['rows']} rows, hash {fp['hash']} -> {got['hash']}")
    for name, ans in before["questions"].items():
        if after["questions"].get(name) != ans:
            differences.append(f"question {name} answers differently")
    differences += [f"new question {n}" for n in after["questions"] if n not in before["questions"]]
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write this run's fingerprint (JSON)")
    parser.add_argument("--warehouse", type=Path, help="fingerprint this built warehouse instead of building the sample")
    parser.add_argument("--workdir", type=Path, help="build the sample here and keep it (default: a temporary folder)")
    parser.add_argument("--compare", type=Path, help="a baseline fingerprint to compare with")
    args = parser.parse_args()
    baseline = json.loads(args.compare.read_text()) if args.compare else None
    with tempfile.TemporaryDirectory(prefix="compare_marts_") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        warehouse = args.warehouse or build_sample(workdir)
        fingerprint = {
            "tables": table_fingerprints(warehouse, baseline["tables"] if baseline else None),
            "questions": question_answers(warehouse),
        }
    args.out.write_text(json.dumps(fingerprint, indent=1, sort_keys=True) + "\n")
    n_tables, n_questions = len(fingerprint["tables"]), len(fingerprint["questions"])
    print(f"{n_tables} marts tables, {n_questions} question answers -> {args.out}")
    if baseline is None:
        return 0
    differences = compare(baseline, fingerprint)
    for line in differences:
        print(f"DIFFERENT: {line}")
    print("same numbers: every table and answer equal" if not differences else f"{len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
