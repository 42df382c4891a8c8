"""scripts/mart_hashes.py, the proof that a faster build left the marts row-for-row equal, must itself tell
equal from unequal: the same rows in another order are equal, one changed value or type is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mart_hashes.py"


def _warehouse(path: Path, statements: list[str]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct_cells (cell_id varchar, passages bigint, cell_status varchar)")
    con.execute("create table marts.dim_things (thing varchar)")
    con.execute("insert into marts.dim_things values ('a'), ('b')")
    con.execute("create view marts.v_cells as select * from marts.fct_cells")  # a view stores nothing: not compared
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)


def test_equal_rows_in_any_order_are_identical_and_a_changed_cell_is_not(tmp_path):
    rows = [("x", 10, "published"), ("y", None, "confidential"), ("z", 0, "published")]
    values = ", ".join(f"('{c}', {'null' if p is None else p}, '{s}')" for c, p, s in rows)
    reversed_values = ", ".join(f"('{c}', {'null' if p is None else p}, '{s}')" for c, p, s in reversed(rows))
    before = _warehouse(tmp_path / "before.duckdb", [f"insert into marts.fct_cells values {values}"])
    saved = tmp_path / "before.json"
    assert _run(str(before), "--save", str(saved)).returncode == 0

    same = _warehouse(tmp_path / "same.duckdb", [f"insert into marts.fct_cells values {reversed_values}"])
    proc = _run(str(same), "--compare", str(saved))
    assert proc.returncode == 0, proc.stdout
    assert "tables 2/2 IDENTICAL" in proc.stdout

    # a suppressed cell that became zero: same row count, one value differs
    changed = _warehouse(
        tmp_path / "changed.duckdb",
        [f"insert into marts.fct_cells values {values}", "update marts.fct_cells set passages = 0 where cell_id = 'y'"],
    )
    proc = _run(str(changed), "--compare", str(saved))
    assert proc.returncode == 1
    assert "fct_cells: rows 3 -> 3, hash differs" in proc.stdout
    assert "tables 1/2 DIFFER" in proc.stdout


def test_a_changed_column_type_is_a_difference(tmp_path):
    before = _warehouse(tmp_path / "before.duckdb", ["insert into marts.fct_cells values ('x', 10, 'published')"])
    saved = tmp_path / "before.json"
    assert _run(str(before), "--save", str(saved)).returncode == 0
    retyped = _warehouse(
        tmp_path / "retyped.duckdb",
        ["insert into marts.fct_cells values ('x', 10, 'published')", "alter table marts.fct_cells alter passages type integer"],
    )
    proc = _run(str(retyped), "--compare", str(saved))
    assert proc.returncode == 1
    assert "fct_cells: columns differ" in proc.stdout
