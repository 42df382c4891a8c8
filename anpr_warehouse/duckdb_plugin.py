"""dbt-duckdb plugin that gives dbt's DuckDB connection the project's settings (anpr_warehouse.duckdb_settings).

Listed under `plugins:` in profiles/profiles.yml, so `anpr build`, MetricFlow and dbt run by hand all get
the same memory limit without a second copy of the numbers in the profile.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from .duckdb_settings import apply_settings


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        """Called once when dbt opens the warehouse; SET reaches every later connection of this process to it."""
        apply_settings(conn)
