"""The data-test rules the model YAMLs declare, one normalised line per rule, however they are written.

Why: rules were folded from one dbt test node per column and rule (not_null, unique, relationships,
unique_combination, total_present, no_licence_plate, ...) into one `column_rules` test per model
(macros/generic_tests.sql) to save dbt's fixed cost per node. Folding must not drop or change a rule: this
lists the rules of the YAMLs in the worktree, or of a git revision, in one form, and compares the two.

    .venv/bin/python scripts/data_test_rules.py                 # the worktree's rules
    .venv/bin/python scripts/data_test_rules.py --against fbba674  # differences from that revision (exit 1 if any)

tests/python/test_data_test_rules.py holds the worktree to the inventory of the YAMLs before the fold.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL_FOLDER = "models"
COLUMN_RULES_ARGUMENTS = {  # the arguments of macros/generic_tests.sql's column_rules
    "not_null",
    "accepted_values",
    "cell_values",
    "rounded",
    "relationships",
    "no_licence_plate",
    "unique",
    "unique_combination",
    "ids",
    "total_present",
}
REF = re.compile(r"""^\s*ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*$""")


def rules(files: dict[str, str]) -> list[str]:
    """Every rule of the YAML texts (path -> text), as sorted JSON lines: [model, rule, arguments]."""
    found: list[list] = []
    for _, text in sorted(files.items()):
        document = yaml.safe_load(text) or {}
        for model in document.get("models") or []:
            found += _model_rules(model)
        for source in document.get("sources") or []:
            for table in source.get("tables") or []:
                owner = f"source:{source['name']}.{table['name']}"
                found += _model_rules({**table, "name": owner})
    return sorted({json.dumps(rule, sort_keys=True) for rule in found})


def _model_rules(model: dict) -> list[list]:
    name = model["name"]
    found = []
    for column in model.get("columns") or []:
        for test in column.get("data_tests") or column.get("tests") or []:
            test_name, arguments, where = _test(test)
            found += _rules(name, test_name, {"column_name": column["name"], **arguments}, where)
    for test in model.get("data_tests") or model.get("tests") or []:
        test_name, arguments, where = _test(test)
        found += _rules(name, test_name, arguments, where)
    return found


def _test(test) -> tuple[str, dict, str | None]:
    """(test name, its arguments, its `where`) of one YAML entry: `unique` or `{name: {arguments, config}}`."""
    if isinstance(test, str):
        return test, {}, None
    (test_name, body), *_ = test.items()
    body = body or {}
    arguments = dict(body.get("arguments") or {k: v for k, v in body.items() if k not in ("config", "name")})
    where = (body.get("config") or {}).get("where")
    return test_name, arguments, where


def _rules(model: str, test: str, arguments: dict, where: str | None) -> list[list]:
    """The single rules one test declares; column_rules expands into each column's rule."""
    if test != "column_rules":
        if test == "relationships":
            arguments = {**arguments, "to": _ref(arguments["to"])}
        return [[model, test, {**arguments, **({"where": where} if where else {})}]]
    assert where is None, f"{model}: column_rules takes each rule's `where` in its arguments"
    unknown = set(arguments) - COLUMN_RULES_ARGUMENTS
    assert not unknown, f"{model}: column_rules has no argument {', '.join(sorted(unknown))}"
    found = []
    for column in arguments.get("not_null", []):
        found.append([model, "not_null", {"column_name": column}])
    for column, values in arguments.get("accepted_values", {}).items():
        found.append([model, "accepted_values", {"column_name": column, "values": values}])
    for column, status in arguments.get("cell_values", {}).items():
        found.append([model, "value_matches_cell_status", {"column_name": column, "status_column": status}])
    for column in arguments.get("rounded", []):
        found.append([model, "multiple_of_rounding_base", {"column_name": column}])
    for column in arguments.get("no_licence_plate", []):
        found.append([model, "no_licence_plate", {"column_name": column}])
    for column in arguments.get("unique", []):
        found.append([model, "unique", {"column_name": column}])
    for column, grain in arguments.get("ids", {}).items():  # unique, through its grain's uniqueness (generic_tests.sql)
        found.append([model, "unique", {"column_name": column}])
        found.append([model, "unique_combination", {"combination_of_columns": grain}])
    for column, parent in arguments.get("relationships", {}).items():
        found.append([model, "relationships", {"column_name": column, **parent}])
    for key in arguments.get("unique_combination", []):
        key = key if isinstance(key, dict) else {"columns": key}
        found.append([model, "unique_combination", {"combination_of_columns": key["columns"], **_where(key)}])
    for totals in arguments.get("total_present", []):
        found.append([model, "total_present", totals])
    return found


def _where(rule: dict) -> dict:
    return {"where": rule["where"]} if rule.get("where") else {}


def _ref(to: str) -> str:
    match = REF.match(to)
    return match.group(1) if match else to


def worktree_files() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / MODEL_FOLDER).rglob("*.yml"))}


def revision_files(revision: str) -> dict[str, str]:
    """The model YAMLs of a git revision of this repository."""
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", revision, MODEL_FOLDER],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        path: subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:{path}"], capture_output=True, text=True, check=True
        ).stdout
        for path in listing
        if path.endswith(".yml")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REVISION", help="compare the worktree's rules with this git revision's")
    args = parser.parse_args(argv)
    now = rules(worktree_files())
    if not args.against:
        print("\n".join(now))
        return 0
    before = rules(revision_files(args.against))
    missing = sorted(set(before) - set(now))
    added = sorted(set(now) - set(before))
    for line in missing:
        print(f"- {line}")
    for line in added:
        print(f"+ {line}")
    print(f"{len(before)} rules in {args.against}, {len(now)} in the worktree, {len(missing)} missing, {len(added)} added")
    return 1 if missing or added else 0


if __name__ == "__main__":
    sys.exit(main())
