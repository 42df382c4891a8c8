"""dbt-project-evaluator rules that matter here, checked on target/manifest.json (no hub packages offline)."""

from __future__ import annotations

import json
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


def test_one_yaml_per_folder(manifest):
    folders: dict[Path, set[str]] = {}
    for node in _models(manifest).values():
        folders.setdefault(Path(node["original_file_path"]).parent, set()).add(node["patch_path"].split("://")[-1])
    for folder, yamls in folders.items():
        assert len(yamls) == 1, f"{folder} has models documented in {yamls}"
        assert Path(next(iter(yamls))).name.startswith("_"), yamls


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
