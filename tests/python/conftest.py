"""Shared fixtures: small generated deliveries and warehouses, built once per test session."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import load_delivery

SMALL = dict(seed=7, locations=4)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="session")
def deliveries(tmp_path_factory) -> dict[str, Path]:
    """Pristine small deliveries: v1 March, its correction, legacy March, v1 April."""
    out = tmp_path_factory.mktemp("deliveries")
    return {
        "v1": generate_delivery(GenerateRequest("GM0344", 2025, 3, **SMALL), out / "v1"),
        "v1_correction": generate_delivery(GenerateRequest("GM0344", 2025, 3, version=2, **SMALL), out / "v1"),
        "legacy": generate_delivery(GenerateRequest("GM0344", 2025, 3, layout="legacy", **SMALL), out / "legacy"),
        "v1_april": generate_delivery(GenerateRequest("GM0344", 2025, 4, **SMALL), out / "v1"),
    }


@pytest.fixture()
def copy_delivery(deliveries, tmp_path):
    """A writable copy of a pristine delivery."""

    def _copy(name: str) -> Path:
        target = tmp_path / "copies" / deliveries[name].name
        shutil.copytree(deliveries[name], target)
        return target

    return _copy


@pytest.fixture(scope="session")
def loaded_warehouse_template(deliveries, tmp_path_factory) -> Path:
    """A warehouse holding the April delivery, so every raw table exists before a test."""
    path = tmp_path_factory.mktemp("wh") / "template.duckdb"
    load_delivery(deliveries["v1_april"], path)
    return path


@pytest.fixture()
def warehouse(loaded_warehouse_template, tmp_path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(loaded_warehouse_template, target)
    return target


@pytest.fixture(scope="session", autouse=True)
def project_env():
    root = Path(__file__).resolve().parents[2]
    # The disclosure audit costs seconds per load; test_audit.py asks for it where it is the subject.
    os.environ.setdefault("ANPR_LOAD_AUDIT", "0")
    os.environ.setdefault("ANPR_GENERATE_PROTECTION", "linked")  # generated deliveries skip the audit pass (seconds each)
    os.environ.setdefault("ANPR_PLAN_AHEAD", "0")  # builds leave planning to readers (see test_metrics_day_grain)
    os.environ.setdefault("DBT_PROFILES_DIR", str(root / "profiles"))
    os.environ.setdefault("DBT_PROJECT_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory) -> Path:
    """The tiny hand-counted deliveries (tiny_delivery.py, March and April) loaded and built, with a snapshot;
    shared by the metric tests and the CLI's error tests, so the suite builds it once."""
    from .cli_support import load_and_build
    from .tiny_delivery import write_tiny_delivery

    out = tmp_path_factory.mktemp("tiny")
    return load_and_build(out / "tiny.duckdb", (write_tiny_delivery(out, month) for month in (3, 4)))
