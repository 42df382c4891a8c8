"""Folding single-rule tests into one column_rules test per model kept every rule of the model YAMLs.

scripts/data_test_rules.py normalises the rules however they are declared (one dbt test per column and
rule, or an argument of column_rules); `data_test_rules_before_fold.txt` is its listing of the YAMLs
before the fold (commit fbba674). Each rule of then must be declared now, and the only rules added are
the grains that make the two md5 ids of the hourly and fuel facts unique (macros/generic_tests.sql, `ids`).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "data_test_rules.py"
BEFORE = Path(__file__).with_name("data_test_rules_before_fold.txt")
ADDED = {
    ("fct_passages_hourly", "location_code, passage_date, hour_of_day, vehicle_category_code"),
    ("fct_passages_by_fuel", "location_code, passage_date, vehicle_category_code, fuel_type_code"),
}


def load_script():
    spec = importlib.util.spec_from_file_location("data_test_rules", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_rule_before_the_fold_is_still_declared():
    script = load_script()
    before = set(BEFORE.read_text().splitlines())
    now = set(script.rules(script.worktree_files()))
    assert sorted(before - now) == []
    added = [json.loads(line) for line in sorted(now - before)]
    assert {
        (model, ", ".join(args["combination_of_columns"])) for model, rule, args in added if rule == "unique_combination"
    } == ADDED
    assert all(rule == "unique_combination" for _, rule, _ in added)


def test_the_listing_sees_a_dropped_rule(tmp_path):
    """The comparison is not vacuous: a YAML without one relationship lists one rule fewer."""
    script = load_script()
    files = script.worktree_files()
    path = "models/marts/core/fct_passages_hourly.yml"
    dropped = files[path].replace("              location_code: {to: dim_location, field: location_code}\n", "")
    assert dropped != files[path]
    missing = set(script.rules(files)) - set(script.rules({**files, path: dropped}))
    assert [json.loads(line)[:2] for line in missing] == [["fct_passages_hourly", "relationships"]]


def test_an_unknown_column_rules_argument_is_refused():
    script = load_script()
    text = "models:\n  - name: m\n    data_tests:\n      - column_rules:\n          arguments:\n            not_nul: [a]\n"
    with pytest.raises(AssertionError, match="no argument not_nul"):
        script.rules({"m.yml": text})


def test_the_script_lists_the_rules():
    """The command line the script's docstring gives runs and lists every rule, one a line."""
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) > 300
