"""What every reader opens: the current published snapshot, never the file a load or build is writing.

Why: DuckDB lets one process write a file while nobody else holds it, so a reader on the warehouse file
either waits for a load or build (minutes at national scale) or makes it fail. `anpr build` ends by
publishing an immutable snapshot (snapshots.py); `anpr metrics`, `anpr export`, `anpr report` and the API
read that, so they answer while the next month is loaded and built, from one consistent state.
"""

from __future__ import annotations

from pathlib import Path

from .metrics import MetricLayer
from .snapshots import current_snapshot


def snapshot_layer(warehouse: Path) -> MetricLayer:
    """The metric layer of the current snapshot (read-only; its semantic manifest is the one it was built with)."""
    return MetricLayer.on_snapshot(current_snapshot(warehouse))
