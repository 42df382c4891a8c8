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

Plans also outlive the process (`PlanStore`): an export or a report is a new process, and
building MetricFlow's engine and planning its few query shapes was most of its time. A
snapshot layer keeps each plan as a small JSON file beside the snapshots, keyed by the
SHA-256 of the semantic manifest and the query shape, written atomically; a file is used
only when both match what it records, so a plan is never trusted across manifests. The
engine itself is built only when a shape has no plan yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from .snapshots import manifest_sha256  # plans are filed by the snapshot's definitions

_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_TYPED_LITERAL_PREFIX = re.compile(r"\b(date|time|timestamp|timestamptz|interval)\s*$", re.I)  # `date '...'` stays SQL
MAX_PLANS = 512  # query shapes kept per engine
PLAN_FORMAT = 1  # bump when a stored plan's meaning changes (files of another format are ignored)
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


@dataclass(frozen=True)
class StoredStatement:
    """A plan's SQL read back from disk: what `bind` needs of MetricFlow's SqlStatement."""

    sql: str
    bind_parameter_set: SqlBindParameterSet = field(default_factory=SqlBindParameterSet)


class PlanStore:
    """Plans on disk for one semantic manifest: `<folder>/<manifest sha256>/<shape sha256>.json`.

    A file records the manifest's hash and the shape it answers, and is used only when both match: a
    plan made from other definitions (or a hash collision of names) is ignored and planned again.
    Files are written to a temporary name and renamed, so a reader sees a whole plan or none; a
    folder it cannot write (a read-only reader) only means planning again.
    """

    def __init__(self, folder: Path, manifest_sha256: str):
        self.folder = folder / manifest_sha256
        self.manifest_sha256 = manifest_sha256

    def _path(self, key: tuple) -> Path:
        return self.folder / f"{hashlib.sha256(_shape(key).encode()).hexdigest()}.json"

    def get(self, key: tuple) -> Plan | None:
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if doc.get("format") != PLAN_FORMAT or doc.get("manifest") != self.manifest_sha256 or doc.get("shape") != _shape(key):
            return None
        return Plan(StoredStatement(doc["sql"]), dict(doc["renamed"]))

    def put(self, key: tuple, plan: Plan) -> None:
        if plan.statement.bind_parameter_set.param_dict:  # MetricFlow bound values of its own: keep it in memory only
            return
        doc = {
            "format": PLAN_FORMAT,
            "manifest": self.manifest_sha256,
            "shape": _shape(key),
            "sql": plan.statement.sql,
            "renamed": plan.renamed,
        }
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _shape(key: tuple) -> str:
    return json.dumps(key, sort_keys=True)


class Planner:
    """One MetricFlow engine, built on first use (a process whose plans are all stored never builds it), and its plans."""

    def __init__(self, build: Callable[[], object]):
        self._build = build
        self._engine = None
        self._lock = threading.Lock()
        self.plans = PlanCache()

    @property
    def engine(self):
        """metricflow.engine.metricflow_engine.MetricFlowEngine; never ask for it while holding PLANNING (its
        first build takes PLANNING, which is not reentrant)."""
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine


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
    """The planner for a semantic manifest (its JSON text), one per process, kept with its plans.

    Building its engine reads every semantic model (seconds), so it happens on the first
    query shape that has no plan; snapshots published by successive builds usually carry
    the same definitions, so they share it.
    """
    key = manifest_sha256(semantic_manifest)
    with _planners_lock:
        if key in _planners:
            _planners.move_to_end(key)
            return _planners[key]

    def build():
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        logging.getLogger("metricflow").setLevel(logging.WARNING)
        manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=semantic_manifest)
        with PLANNING:  # the engine's constructor resets the id counter too
            return MetricFlowEngine(semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=_PlanOnlyClient())

    with _planners_lock:
        planner = _planners.setdefault(key, Planner(build))
        _planners.move_to_end(key)
        while len(_planners) > MAX_PLANNERS:
            _planners.popitem(last=False)
    return planner
