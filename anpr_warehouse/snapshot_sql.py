"""MetricFlow's SqlClient on a DuckDB file opened read-only: how the metric layer reads a snapshot.

dbt-duckdb's profile opens its path read-write, which takes an exclusive lock on the
file. A published snapshot is shared by every reader, so the metric layer drives
MetricFlow's engine with this client instead: one read-only connection, a cursor per
statement (DuckDB cursors may be used from several threads), and no writes at all.
The file keeps the warehouse's stem, so the catalog is named as the semantic
manifest's SQL expects (`"anpr"."marts"."fct_..."`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet


class ReadOnlyDuckDbClient:
    """Implements metricflow.protocols.sql_client.SqlClient for SELECTs on a read-only DuckDB file."""

    def __init__(self, database: Path):
        self.database = database
        self._con = duckdb.connect(str(database), read_only=True)
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> DuckDbSqlPlanRenderer:
        return self._renderer

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one statement; the service reads marts through the same connection."""
        return self._con.cursor()

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> MetricFlowDataTable:
        cursor = self.cursor()
        try:
            params = dict(sql_bind_parameter_set.param_dict) or None
            result = cursor.execute(stmt, params) if params else cursor.execute(stmt)
            columns = [d[0] for d in result.description]
            rows = result.fetchall()
        finally:
            cursor.close()
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=rows)

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        cursor = self.cursor()
        try:
            cursor.execute(stmt)
        finally:
            cursor.close()

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        self.execute(f"explain {stmt}")

    def close(self) -> None:
        self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"
