"""dbt's manifest as the registry of what each consumer reads.

The export, the report and the vendor API do not keep their own lists of tables or
questions: the dbt project declares them (`exposures:` and `saved_queries:`), and
this module reads them from target/manifest.json. A table added to an exposure
reaches its consumer with no Python edit, and a typo fails at `dbt parse`.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from .errors import UserError
from .paths import PROFILES_DIR, PROJECT_ROOT

MANIFEST = PROJECT_ROOT / "target" / "manifest.json"
PACKAGE = "anpr_warehouse"
VENDOR_PACKAGE = "vendor_package"


@lru_cache(maxsize=1)
def read_manifest() -> dict:
    """target/manifest.json; `dbt parse` writes it first on a fresh checkout (parsing reads no warehouse).

    A manifest from before the project declared its consumers (no exposure `vendor_package`) is parsed again.
    """
    if not MANIFEST.exists() or not _declares_consumers(json.loads(MANIFEST.read_text())):
        _parse_project()
    return json.loads(MANIFEST.read_text())


def manifest_at(path: Path) -> dict:
    """A dbt manifest file, e.g. the one a snapshot was built with; read once per version of the file.

    Readers of a snapshot take its tables, docs and questions from here, not from the project's
    target/manifest.json, which the next build (or a branch switch) rewrites under them.
    """
    st = path.stat()
    return _manifest_file(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4)
def _manifest_file(path: str, mtime_ns: int, size: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _declares_consumers(manifest: dict) -> bool:
    return f"exposure.{PACKAGE}.{VENDOR_PACKAGE}" in manifest.get("exposures", {}) and bool(manifest.get("saved_queries"))


def _parse_project() -> None:
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("ANPR_WAREHOUSE", str(PROJECT_ROOT / "warehouse" / "anpr.duckdb"))
    result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROFILES_DIR)])
    if not result.success or not MANIFEST.exists():
        raise UserError(f"dbt parse failed: {result.exception or 'see the messages above'}")


def exposure_models(name: str, manifest: dict | None = None) -> list[dict]:
    """The model nodes an exposure depends on, in the order its YAML lists them."""
    manifest = manifest or read_manifest()
    exposure = manifest["exposures"].get(f"exposure.{PACKAGE}.{name}")
    if exposure is None:
        raise UserError(f"no exposure {name!r} in the dbt project; run 'dbt parse' (or 'anpr build')")
    nodes = [manifest["nodes"][f"model.{PACKAGE}.{ref['name']}"] for ref in exposure["refs"]]
    return [n for n in nodes if n["resource_type"] == "model"]


def vendor_package_tables(manifest: dict | None = None) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The marts a vendor package holds, as (facts, municipality dimensions, code lists).

    Every `marts` model the vendor-package exposure depends on, except the time spine
    (MetricFlow needs it to answer the questions; vendors get dates in the facts).
    Facts are cut per municipality and month, municipality dimensions per municipality.
    """
    marts = [n for n in exposure_models(VENDOR_PACKAGE, manifest) if n["schema"] == "marts" and not n.get("time_spine")]
    facts = tuple(n["name"] for n in marts if n["name"].startswith("fct_"))
    dims = [n for n in marts if not n["name"].startswith("fct_")]
    by_municipality = tuple(n["name"] for n in dims if "municipality_code" in n["columns"])
    code_lists = tuple(n["name"] for n in dims if "municipality_code" not in n["columns"])
    return facts, by_municipality, code_lists
