"""The parsed project is reused only while everything dbt's parse reads and target/'s manifests are unchanged."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from anpr_warehouse import parse_cache
from anpr_warehouse.paths import PROJECT_ROOT


@dataclass
class StandInManifest:
    """Like dbt's Manifest: data fields, and private lookups rebuilt when missing (never stored)."""

    nodes: list = field(default_factory=list)
    _lookup: dict | None = None


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the dbt project (files only dbt reads), with the cache's paths pointed into it."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "dbt_project.yml", root)
    for folder in ("profiles", "models", "macros", "seeds", "tests/dbt", "analyses"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    target = root / "target"
    target.mkdir()
    for name in ("manifest.json", "semantic_manifest.json"):
        (target / name).write_text("{}")
    monkeypatch.setattr(parse_cache, "PROJECT_ROOT", root)
    monkeypatch.setattr(parse_cache, "PROFILES_DIR", root / "profiles")
    monkeypatch.setattr(parse_cache, "CACHE", target / "anpr_parsed_manifest.pickle")
    monkeypatch.setattr(parse_cache, "SEAL", target / "anpr_parsed_manifest.json")
    monkeypatch.setattr(parse_cache, "WRITTEN", (target / "manifest.json", target / "semantic_manifest.json"))
    monkeypatch.setenv("ANPR_WAREHOUSE", str(tmp_path / "a.duckdb"))
    return root


def test_key_follows_project_files_and_the_warehouse_path(project, monkeypatch, tmp_path):
    first = parse_cache.key()
    assert parse_cache.key() == first
    model = project / "models" / "marts" / "core" / "fct_passages_hourly.yml"
    model.write_text(model.read_text() + "\n")
    edited = parse_cache.key()
    assert edited != first
    monkeypatch.setenv("ANPR_WAREHOUSE", str(tmp_path / "b.duckdb"))  # the database name in every node
    assert parse_cache.key() != edited
    monkeypatch.setenv("ANPR_UNRELATED", "1")  # read by no project file
    monkeypatch.setenv("ANPR_WAREHOUSE", str(tmp_path / "a.duckdb"))
    assert parse_cache.key() == edited
    (project / "macros" / "new_macro.sql").write_text("{% macro x() %}1{% endmacro %}")
    assert parse_cache.key() != edited


def test_cached_manifest_only_while_target_is_as_sealed(project):
    key = parse_cache.key()
    assert parse_cache.load(key) is None  # nothing stored yet
    parse_cache.store(key, StandInManifest(["model.a"], _lookup={"a": "built while running"}))
    assert parse_cache.load(key) == StandInManifest(["model.a"], _lookup=None)
    assert parse_cache.load("another key") is None

    manifest = project / "target" / "manifest.json"
    manifest.write_text('{"written": "by a build"}')  # as dbt build rewrites it
    os.utime(manifest, ns=(1, 1))
    assert parse_cache.load(key) is None
    parse_cache.seal(key)  # anpr build seals what its own successful build wrote
    assert parse_cache.load(key) is not None

    manifest.write_text('{"written": "by a parse of another warehouse"}')
    assert parse_cache.load(key) is None
    parse_cache.seal("another key")  # a seal for other inputs does not adopt the files
    assert parse_cache.load(key) is None


def test_a_broken_cache_file_means_a_parse(project):
    key = parse_cache.key()
    parse_cache.store(key, StandInManifest())
    parse_cache.CACHE.write_bytes(b"not a pickle")
    assert parse_cache.load(key) is None
