"""Where the project's files live, so the CLI works from any working directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
PROFILES_DIR = PROJECT_ROOT / "profiles"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "anpr.duckdb"


def default_warehouse() -> Path:
    """The warehouse file: $ANPR_WAREHOUSE when set, else warehouse/anpr.duckdb in the project."""
    return Path(os.environ.get("ANPR_WAREHOUSE", DEFAULT_WAREHOUSE)).resolve()
