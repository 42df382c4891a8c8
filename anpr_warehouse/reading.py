"""Exports and reports only read the warehouse: the metric layer and DuckDB opened read-only.

`MetricLayer(warehouse)` drives MetricFlow through dbt's adapter, which imports and
configures dbt's command line (seconds in every process) and opens the file
read-write. The metric layer's read-only path (the one the vendor API uses on
snapshots: MetricFlow's engine on our own read-only DuckDB client) answers the same
questions with the same SQL, as long as the project's semantic manifest names this
warehouse's catalog (dbt names the catalog after the file). Otherwise the adapter
path is used, which parses the project for this warehouse first.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from .metrics import MetricLayer
from .paths import PROJECT_ROOT

SEMANTIC_MANIFEST = PROJECT_ROOT / "target" / "semantic_manifest.json"


def reading_layer(warehouse: Path) -> MetricLayer:
    """The read-only metric layer on the warehouse file when the semantic manifest's catalog is this file's."""
    if warehouse.exists() and _catalog(SEMANTIC_MANIFEST) == warehouse.stem and _opens_read_only(warehouse):
        return MetricLayer(warehouse, SEMANTIC_MANIFEST)
    return MetricLayer(warehouse)


def connect(layer: MetricLayer) -> duckdb.DuckDBPyConnection:
    """A connection with the layer's configuration (DuckDB refuses a second, differently configured one in a process)."""
    return duckdb.connect(str(layer.warehouse), read_only=layer.read_only)


def _opens_read_only(warehouse: Path) -> bool:
    """False when this process already holds the file read-write (DuckDB allows one configuration per file)."""
    try:
        duckdb.connect(str(warehouse), read_only=True).close()
    except duckdb.ConnectionException:
        return False
    return True


def _catalog(semantic_manifest: Path) -> str | None:
    try:
        models = json.loads(semantic_manifest.read_text()).get("semantic_models") or [{}]
    except (OSError, ValueError):
        return None
    return (models[0].get("node_relation") or {}).get("database")
