"""Exports and reports only read the warehouse: the metric layer and DuckDB opened read-only.

`MetricLayer(warehouse)` drives MetricFlow through dbt's adapter, which imports and
configures dbt's command line (seconds in every process) and opens the file
read-write. The metric layer's read-only path (the one the vendor API uses on
snapshots: MetricFlow's engine on our own read-only DuckDB client) answers the same
questions with the same SQL, as long as the project's semantic manifest names this
warehouse's catalog (dbt names the catalog after the file). Otherwise the adapter
path is used, which parses the project for this warehouse first.

Readers read the published snapshot (`published_database`), never the file a load or build is writing:
DuckDB lets one process write a file while nobody else holds it, so a reader on the warehouse file would
either wait for a load or build (minutes at national scale) or make it fail. `anpr build` ends by publishing
an immutable snapshot (snapshots.py); `anpr metrics`, `anpr export`, `anpr report` and the API read that, so
they answer while the next month is loaded and built, from one consistent state. A snapshot's database sits
beside the semantic manifest it was built with, and the layer on it uses that manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from .metrics import MetricLayer
from .paths import PROJECT_ROOT
from .snapshots import current_snapshot

SEMANTIC_MANIFEST = PROJECT_ROOT / "target" / "semantic_manifest.json"


def published_database(warehouse: Path) -> Path:
    """The current snapshot's database: what every reader opens (an error when nothing was published yet)."""
    return current_snapshot(warehouse).database


def snapshot_layer(warehouse: Path) -> MetricLayer:
    """The metric layer of the current snapshot (read-only; its semantic manifest is the one it was built with)."""
    return reading_layer(published_database(warehouse))


def reading_layer(warehouse: Path) -> MetricLayer:
    """The read-only metric layer on a snapshot's database, or on the warehouse file when the project's semantic
    manifest names its catalog; else the adapter path."""
    beside = warehouse.parent / SEMANTIC_MANIFEST.name
    if beside.exists() and warehouse.exists():  # a published snapshot: its own definitions
        return MetricLayer(warehouse, beside)
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
