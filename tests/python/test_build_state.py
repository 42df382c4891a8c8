"""A failed `anpr build` leaves nothing behind that a later build, a test or the benchmark would take for its own.

Both tests run `anpr build` on a real warehouse in a copy of the project whose code they edit (the repository
stays as it is).

Stored fingerprints: an incremental build skips views, the reference subtree and a layout's staging views
while their stored fingerprint (written after a successful build) equals the current code's
(reference_nodes.py). When the code goes from A (built, stored) to B (rebuilt as B, then the build fails:
nothing stored) and back to A, the stored fingerprint was A's while the warehouse held B's nodes. Code B here
changes a v1 staging view (a view and a layout node), a reference dimension (a reference node) and adds a
model that fails after both were rebuilt; back at A, the view and the dimension must be A's. A `--select`
build is the same story without a failure: it rebuilds what it selects and stores nothing.

run_results.json: see the second test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.load import load_delivery
from anpr_warehouse.paths import PROJECT_ROOT

from .cli_support import query
from .tiny_delivery import write_tiny_delivery

pytestmark = pytest.mark.slow

PROJECT_FILES = ("dbt_project.yml", "vendors.yml")
PROJECT_FOLDERS = ("anpr_warehouse", "profiles", "models", "macros", "seeds", "tests/dbt", "analyses")
VIEW = PROJECT_ROOT / "models" / "staging" / "cbs" / "stg_cbs__zones.sql"
DIMENSION = PROJECT_ROOT / "models" / "marts" / "core" / "dim_fuel_type.sql"
MARK = "code B"


@pytest.fixture()
def project(tmp_path) -> Path:
    """A copy of the project (package and dbt files), run from its own folder so its code is the one used."""
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        shutil.copy(PROJECT_ROOT / name, root / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def anpr_build(project: Path, warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    env.update(PYTHONPATH=str(project), DBT_PROJECT_DIR=str(project), DBT_PROFILES_DIR=str(project / "profiles"))
    return subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "build", "--warehouse", str(warehouse), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} no longer has {old!r}: update this test"
    path.write_text(text.replace(old, new))


def to_code_b(project: Path) -> None:
    edit(project / VIEW.relative_to(PROJECT_ROOT), "    from source\n", f"    from source\n    where '{MARK}' = '{MARK}'\n")
    edit(
        project / DIMENSION.relative_to(PROJECT_ROOT),
        "select * from codes",
        f"select * replace ('{MARK} ' || title_en as title_en) from codes",
    )
    (project / "models" / "marts" / "core" / "zz_fails_after_b.sql").write_text(
        "-- depends_on: {{ ref('stg_cbs__zones') }}\n-- depends_on: {{ ref('dim_fuel_type') }}\n"
        f"select error('{MARK} fails on purpose') as failed\n"
    )


def back_to_code_a(project: Path) -> None:
    for original in (VIEW, DIMENSION):
        shutil.copy(original, project / original.relative_to(PROJECT_ROOT))
    (project / "models" / "marts" / "core" / "zz_fails_after_b.sql").unlink(missing_ok=True)


def code_b_in(warehouse: Path) -> dict[str, bool]:
    """Whether the view's SQL and the dimension's labels are code B's."""
    view_sql = query(warehouse, "select sql from duckdb_views() where schema_name = 'staging' and view_name = 'stg_cbs__zones'")
    labels = query(warehouse, "select count(*) filter (where starts_with(title_en, ?)) from marts.dim_fuel_type", [MARK])
    return {"view": MARK in view_sql[0][0], "dimension": labels[0][0] > 0}


def tiny_warehouse(tmp_path: Path) -> Path:
    warehouse = tmp_path / "anpr.duckdb"
    for month in (3, 4):
        load_delivery(write_tiny_delivery(tmp_path / "deliveries", month), warehouse)
    return warehouse


def test_a_failed_build_leaves_no_stale_view_or_reference_node(project, tmp_path):
    warehouse = tiny_warehouse(tmp_path)

    built = anpr_build(project, warehouse)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (project / "target" / "run_results.json").exists()  # the copy's code ran, not the repository's
    assert code_b_in(warehouse) == {"view": False, "dimension": False}

    to_code_b(project)
    failed = anpr_build(project, warehouse)
    assert failed.returncode == 2, failed.stderr[-3000:]
    assert "zz_fails_after_b" in failed.stderr
    assert code_b_in(warehouse) == {"view": True, "dimension": True}  # B rebuilt them before it failed

    back_to_code_a(project)
    again = anpr_build(project, warehouse)
    assert again.returncode == 0, again.stderr[-3000:]
    assert code_b_in(warehouse) == {"view": False, "dimension": False}

    to_code_b(project)
    (project / "models" / "marts" / "core" / "zz_fails_after_b.sql").unlink()
    selected = anpr_build(project, warehouse, "--select", "stg_cbs__zones", "dim_fuel_type")
    assert selected.returncode == 0, selected.stderr[-3000:]
    assert code_b_in(warehouse) == {"view": True, "dimension": True}
    back_to_code_a(project)
    again = anpr_build(project, warehouse)
    assert again.returncode == 0, again.stderr[-3000:]
    assert code_b_in(warehouse) == {"view": False, "dimension": False}


def test_a_build_dbt_gives_up_on_leaves_no_run_results_of_an_earlier_build(project, tmp_path):
    """target/run_results.json is what tests and the benchmark read as the last build's nodes. When dbt raises
    (here an on-run-end hook, after every node ran) it returns no results: the previous build's file must not
    stay to be read as this one's."""
    warehouse = tiny_warehouse(tmp_path)
    built = anpr_build(project, warehouse)
    assert built.returncode == 0, built.stderr[-3000:]
    run_results = project / "target" / "run_results.json"
    assert json.loads(run_results.read_text())["results"]

    with (project / "dbt_project.yml").open("a") as handle:
        handle.write(
            "\non-run-end:\n  - \"{% if execute %}{{ exceptions.raise_compiler_error('ends on purpose') }}{% endif %}\"\n"
        )
    failed = anpr_build(project, warehouse)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "ends on purpose" in failed.stderr
    assert not run_results.exists()
