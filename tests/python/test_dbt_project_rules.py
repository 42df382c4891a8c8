"""dbt-project-evaluator rules that matter here, checked on target/manifest.json (no hub packages offline)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def manifest() -> dict:
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT / "profiles")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())


def _models(manifest):
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model" and v["package_name"] == "anpr_warehouse"}


def test_naming_and_directory_conventions(manifest):
    for node in _models(manifest).values():
        path, name = Path(node["original_file_path"]), node["name"]
        layer = path.parts[1]
        if layer == "staging":
            source = path.parts[2]
            assert name.startswith(f"stg_{source}__"), f"{name} in {path} must be stg_{source}__<entity>s"
            assert name.endswith("s"), f"{name}: staging models name their entity in plural"
        elif layer == "harmonised":
            assert name.startswith("int_"), name
        elif layer == "marts":
            assert name.startswith(("fct_", "dim_")), name
        else:
            pytest.fail(f"{name} is outside staging/, harmonised/ and marts/: {path}")


def test_every_model_has_its_yaml_beside_its_sql(manifest):
    """A model is the unit of change: `<model>.sql` and `<model>.yml` side by side, nothing shared."""
    for node in _models(manifest).values():
        sql = Path(node["original_file_path"])
        assert node["patch_path"], f"{node['name']} has no YAML"
        yml = Path(node["patch_path"].split("://")[-1])
        assert yml == sql.with_suffix(".yml"), f"{node['name']} is documented in {yml}, not beside {sql}"


def test_yaml_written_for_people():
    """Short files, no anchors (one edit must not change another model's tests), no YAML dumper leftovers."""
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        text = path.read_text()
        name = path.relative_to(PROJECT_ROOT)
        assert len(text.splitlines()) <= 400, f"{name} has {len(text.splitlines())} lines (at most 400)"
        assert not re.search(r"(:|-)\s+[&*]id\d+", text), f"{name} uses YAML anchors/aliases"
        assert not re.search(r"^(models|semantic_models|metrics|unit_tests|sources):\n- ", text, re.M), f"{name} has unindented lists"


def test_every_model_and_column_documented(manifest):
    for node in _models(manifest).values():
        assert node["description"].strip(), f"{node['name']} has no description"
        assert node["columns"], f"{node['name']} documents no columns"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{node['name']}.{column['name']} has no description"


def test_every_model_tested(manifest):
    tested = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("test", "unit_test"):
            tested.update(node["depends_on"]["nodes"])
    for unit in manifest.get("unit_tests", {}).values():
        tested.update(unit["depends_on"]["nodes"])
    untested = [key for key in _models(manifest) if key not in tested]
    assert not untested, f"models without tests: {untested}"


def test_marts_never_read_sources_and_staging_never_reads_staging(manifest):
    models = _models(manifest)
    for key, node in models.items():
        parents = node["depends_on"]["nodes"]
        name = node["name"]
        if name.startswith(("fct_", "dim_", "int_")):
            assert not [p for p in parents if p.startswith("source.")], f"{name} reads a source directly"
        if name.startswith("stg_"):
            assert not [p for p in parents if p.startswith("model.")], f"{name} depends on another model"


def test_marts_have_enforced_contracts(manifest):
    for node in _models(manifest).values():
        if node["name"].startswith(("fct_", "dim_")):
            assert node["config"]["contract"]["enforced"], f"{node['name']} has no enforced contract"
            assert all(c.get("data_type") for c in node["columns"].values()), node["name"]
