"""Planning a metric query once per shape: filter literals become placeholders, values are bound per query.

MetricFlow turns a question into SQL in pure Python (0.1-0.25 s, one plan at a time in
a process: it numbers plan nodes with a process-global counter). Questions that differ only in their
filter values (another municipality, another month range) have the same SQL apart
from those values, so the metric layer plans the *shape* once: every single-quoted
string literal of a `where` filter (outside the Jinja `{{ ... }}` calls) is replaced
by a sentinel literal before planning, and the sentinel in the generated SQL is
replaced by the query's own value when it runs. On a read-only snapshot the value is
bound as a DuckDB parameter, so no filter value ever becomes SQL text or reaches
MetricFlow; through dbt's adapter (which binds no parameters) the caller's own
literal goes back in verbatim, giving the SQL MetricFlow would have written.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_TYPED_LITERAL_PREFIX = re.compile(r"\b(date|time|timestamp|timestamptz|interval)\s*$", re.I)  # `date '...'` stays SQL
MAX_PLANS = 512  # query shapes kept per engine
MAX_PLANNERS = 4  # semantic manifests with an engine kept in a process (the service: the current snapshot's, and a few old)
PLANNING = threading.Lock()  # MetricFlow numbers a plan's nodes with a process-global counter: one plan at a time


def _sentinel(index: int) -> str:
    return f"'__anpr_p{index}__'"


def _parameter(index: int) -> str:
    return f"anpr_p{index}"


def parametrize(where: list[str]) -> tuple[list[str], list[str]]:
    """Filters with their string literals replaced by numbered sentinels, and the literals (quotes included) in order."""
    literals: list[str] = []

    def lift(match: re.Match) -> str:
        if _TYPED_LITERAL_PREFIX.search(match.string, 0, match.start()):
            return match.group(0)  # a typed literal's text is syntax: `date $1` would not parse
        literals.append(match.group(0))
        return _sentinel(len(literals) - 1)

    templates = []
    for text in where:
        parts = _JINJA.split(text)  # odd positions are Jinja calls: their quoted names stay
        templates.append("".join(p if i % 2 else _STRING_LITERAL.sub(lift, p) for i, p in enumerate(parts)))
    return templates, literals


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


@dataclass(frozen=True)
class Plan:
    """MetricFlow's SQL for one query shape, and the twin metrics' result columns renamed to the metrics asked."""

    statement: object  # metricflow.execution.execution_plan.SqlStatement
    renamed: dict[str, str] = field(default_factory=dict)

    def takes(self, count: int) -> bool:
        """True when the SQL holds each of `count` placeholders as planned (and no other): values can be bound."""
        sql = self.statement.sql
        found = [sql.count(_sentinel(i)) for i in range(count)]
        return all(found) and sql.count("__anpr_p") == sum(found)

    @property
    def routed(self) -> bool:
        """True when day-grain twins answer (metrics.py falls back to the metrics as named if their fact fails)."""
        return bool(self.renamed)


def bind(statement, literals: list[str], as_parameters: bool) -> tuple[str, SqlBindParameterSet]:
    """The plan's SQL for this query's literals: as DuckDB parameters (`$anpr_pN`), or put back as the literals."""
    sql, values = statement.sql, {}
    for index, literal in enumerate(literals):
        sentinel = _sentinel(index)
        if as_parameters and sentinel in sql:
            sql = sql.replace(sentinel, f"${_parameter(index)}")
            values[_parameter(index)] = _unquote(literal)
        else:
            sql = sql.replace(sentinel, literal)
    return sql, statement.bind_parameter_set.merge(SqlBindParameterSet.create_from_dict(values))


class PlanCache:
    """Plans by (metrics, group-by, filter templates); bounded, least recently used first out, thread-safe."""

    def __init__(self, size: int = MAX_PLANS):
        self._size = size
        self._plans: OrderedDict[tuple, Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Plan | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    def put(self, key: tuple, plan: Plan) -> Plan:
        with self._lock:
            self._plans[key] = plan
            self._plans.move_to_end(key)
            while len(self._plans) > self._size:
                self._plans.popitem(last=False)
        return plan

    def __len__(self) -> int:
        return len(self._plans)


@dataclass
class Planner:
    """One MetricFlow engine and the plans it made."""

    engine: object  # metricflow.engine.metricflow_engine.MetricFlowEngine
    plans: PlanCache = field(default_factory=PlanCache)


class _PlanOnlyClient:
    """The SqlClient a shared engine is built with: it renders DuckDB SQL and never runs any (layers run their plans)."""

    @property
    def sql_engine_type(self):
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self):
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        return DuckDbSqlPlanRenderer()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    def query(self, *args, **kwargs):
        raise RuntimeError("a shared MetricFlow engine only plans; the metric layer runs the SQL on its own client")

    execute = dry_run = query

    def close(self) -> None:
        """Nothing to close."""


_planners: OrderedDict[str, Planner] = OrderedDict()
_planners_lock = threading.Lock()


def snapshot_planner(semantic_manifest: str) -> Planner:
    """The engine for a semantic manifest (its JSON text), built once per process and kept with its plans.

    Building an engine reads every semantic model (seconds); snapshots published by
    successive builds usually carry the same definitions, so they share it.
    """
    key = hashlib.sha256(semantic_manifest.encode()).hexdigest()
    with _planners_lock:
        if key in _planners:
            _planners.move_to_end(key)
            return _planners[key]
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    logging.getLogger("metricflow").setLevel(logging.WARNING)
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=semantic_manifest)
    with PLANNING:  # the engine's constructor resets the id counter too
        engine = MetricFlowEngine(semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=_PlanOnlyClient())
    with _planners_lock:
        planner = _planners.setdefault(key, Planner(engine))
        _planners.move_to_end(key)
        while len(_planners) > MAX_PLANNERS:
            _planners.popitem(last=False)
    return planner
