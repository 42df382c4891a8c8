"""A `where` of a column_rules rule reads the tested model's columns, never the delivery register's.

Why: column_rules (macros/generic_tests.sql) joins the register (raw.cbs_deliveries) in for the `rounded`
rule, in the same query that evaluates the rules' `where` conditions. A condition naming a column both
have (`municipality_code`) was ambiguous there, and a relationships `where` naming a column only the
register has (`layout`) was silently answered by the register's row of the delivery. No model of the project does either today;
this holds the macro to it on a tiny dbt project with the project's own macros and profile, on a real
register (a loaded tiny delivery), through `dbt build`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anpr_warehouse.load import load_delivery
from anpr_warehouse.paths import PROJECT_ROOT

from .cli_support import query
from .tiny_delivery import write_tiny_delivery

pytestmark = pytest.mark.slow

PROBE = """
select * from (
    values
        ('{delivery}', 'GM0344', 'a', 10),
        ('{delivery}', 'GM0344', 'a', 20),
        ('{delivery}', 'GM0999', 'b', 30),
        ('{delivery}', 'GM0999', 'b', 40)
) as cells (delivery_id, municipality_code, cell_key, cell_value)
"""


def rules(name: str, **rule) -> dict:
    """Values on the rounding base (which joins the register in) and one more rule of the model."""
    return {"column_rules": {"name": name, "arguments": {"rounded": ["cell_value"], **rule}}}


@pytest.fixture()
def probe_project(tmp_path) -> tuple[Path, Path]:
    """(project, warehouse): one model of four rows of a real delivery, where key `a` repeats within GM0344
    (the model's municipality) and `b` within GM0999, which the register does not say for that delivery."""
    warehouse = tmp_path / "anpr.duckdb"
    load_delivery(write_tiny_delivery(tmp_path / "deliveries", 3), warehouse)
    delivery = query(warehouse, "select delivery_id from raw.cbs_deliveries")[0][0]
    root = tmp_path / "probe"
    shutil.copytree(PROJECT_ROOT / "macros", root / "macros")
    shutil.copytree(PROJECT_ROOT / "profiles", root / "profiles")
    project = {
        "name": "rule_probe",
        "version": "1.0.0",
        "config-version": 2,
        "profile": "anpr",
        "data_tests": {"rule_probe": {"+store_failures": True, "+schema": "test_failures"}},
    }
    (root / "dbt_project.yml").write_text(yaml.safe_dump(project))
    (root / "models").mkdir()
    (root / "models" / "probe.sql").write_text(PROBE.format(delivery=delivery))
    schema = {
        "version": 2,
        "sources": [{"name": "cbs", "schema": "raw", "tables": [{"name": "cbs_deliveries"}]}],
        "models": [
            {
                "name": "probe",
                "data_tests": [
                    rules(
                        "rules_naming_a_shared_column",
                        unique_combination=[{"columns": ["cell_key"], "where": "municipality_code = 'GM0344'"}],
                    ),
                    rules(
                        "rules_naming_a_register_column",
                        relationships={"cell_key": {"to": "probe", "field": "cell_key", "where": "layout = 'v1'"}},
                    ),
                ],
            }
        ],
    }
    (root / "models" / "probe.yml").write_text(yaml.safe_dump(schema, sort_keys=False))
    return root, warehouse


def test_a_rule_where_reads_the_models_columns_only(probe_project):
    root, warehouse = probe_project
    env = {**os.environ, "ANPR_WAREHOUSE": str(warehouse)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(root), "--profiles-dir", str(root / "profiles")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=root,
    )
    results = {r["unique_id"].split(".")[2]: r for r in json.loads((root / "target" / "run_results.json").read_text())["results"]}
    assert results["probe"]["status"] == "success", proc.stdout[-3000:]

    # the model's own municipality_code: only key `a` (GM0344) breaks the rule, with its two rows
    shared = results["rules_naming_a_shared_column"]
    assert (shared["status"], shared["failures"]) == ("fail", 2), shared["message"]
    failing = query(warehouse, "select cell_key, failed_rules from test_failures.rules_naming_a_shared_column")
    assert failing == [("a", "(cell_key): unique_combination")] * 2

    # a column the model does not have is an error of the rule, not the register's answer
    register_only = results["rules_naming_a_register_column"]
    assert register_only["status"] == "error", register_only
    assert '"layout" not found' in register_only["message"], register_only["message"]
