"""The one path to a number: a thin wrapper on MetricFlow's Python engine.

Analysts (`anpr metrics query`), vendor exports and the report all ask this
module, so the same question always gets the same answer. It adds what the
semantic layer's definitions carry in their `meta`:

- every metric travels with the count of confidential CBS cells behind it, and a
  value with any of them inside is marked incomplete (a lower bound), never exact;
- metrics counted per zone and month (unique vehicles) are refused with a reason
  when the query does not keep zone and month apart. The semantic layer itself
  also returns null for such rows, so direct `mf query` users are safe too.

It also keeps questions cheap at scale (plans.py has the mechanics):

- a metric with a day-grain twin (`meta.day_grain_of`, e.g. `passages_daily` for
  `passages`) is answered from the twin whenever the question needs no hour, so
  a month question never scans hourly cells; the answer is the same;
- a metric with a month-grain twin (`meta.month_grain_of`, e.g. `passages_monthly`) is
  answered from it when the question's time is a month or coarser (or absent) and it
  needs no day or hour: one row per location and month instead of thirty (the vendor
  API's ad-hoc queries). A bare `metric_time` keeps its finest grain (days), so the
  month twins never change the shape of an answer, only where it is read from;
- MetricFlow plans a query shape once per engine (one per semantic manifest in a
  process, shared by the layers of snapshots with the same definitions): the string
  literals of the filters are planned as placeholders and bound as DuckDB parameters,
  so a new municipality or month costs only DuckDB, and no filter value reaches MetricFlow.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .dbt_manifest import manifest_at, read_manifest
from .dbt_runner import point_dbt_at, run_dbt
from .errors import UserError
from .paths import PROJECT_ROOT
from .plans import PLANNING, Plan, Planner, PlanStore, bind, manifest_sha256, parametrize, snapshot_planner
from .snapshots import COMPLETE_MARKER, PLAN_CACHE

ZONE_MONTH_REASON = (
    "{metric} is counted by CBS per zone and month; unique vehicles are not additive over months or zones. "
    "Group by zone and metric_time__month (e.g. --group-by zone metric_time__month)."
)
TIME_GRAINS = ("day", "week", "month", "quarter", "year")  # metric_time's grains, finest first
MONTH_OR_COARSER = TIME_GRAINS[TIME_GRAINS.index("month") :]
MONTH_GROUP = "metric_time__month"  # the group-by name of a month
TIME_ITEMS_AT_MONTH = {"metric_time", MONTH_GROUP}  # a bare metric_time is a month for metrics counted per month
_METRIC_TIME_FILTER = re.compile(r"TimeDimension\(\s*'metric_time'\s*,\s*'(\w+)'\s*\)")


class MetricRefused(UserError):
    """A query the metric layer will not answer, with the reason (exit code 2, like a refused delivery)."""

    exit_code = 2


@dataclass
class MetricValue:
    value: float | int | None
    confidential_cells: int
    complete: bool

    def as_json(self) -> dict:
        return {"value": self.value, "confidential_cells": self.confidential_cells, "complete": self.complete}


@dataclass
class MetricResult:
    group_by: list[str]
    metrics: list[str]
    rows: list[dict] = field(default_factory=list)  # group-by values plus MetricValue per metric

    def to_records(self) -> list[dict]:
        """Flat records: `<metric>`, `<metric>__confidential_cells`, `<metric>__complete`."""
        records = []
        for row in self.rows:
            record = {g: plain_value(row[g]) for g in self.group_by}
            for metric in self.metrics:
                value: MetricValue = row[metric]
                record[metric] = value.value
                record[f"{metric}__confidential_cells"] = value.confidential_cells
                record[f"{metric}__complete"] = value.complete
            records.append(record)
        return records

    def json_rows(self) -> list[dict]:
        """Rows as JSON objects: group-by values as text or numbers, each metric as {value, confidential_cells, complete}
        (the one shape of `--format json`, the API and the export package's metric answers)."""
        return [{**{g: plain_value(r[g]) for g in self.group_by}, **{m: r[m].as_json() for m in self.metrics}} for r in self.rows]

    def render(self, fmt: str) -> str:
        records = self.to_records()
        if fmt == "json":
            return (
                json.dumps(
                    {
                        "group_by": self.group_by,
                        "metrics": self.metrics,
                        "rows": self.json_rows(),
                    },
                    indent=2,
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )
        if fmt == "csv":
            out = io.StringIO()
            columns = list(records[0]) if records else self.group_by + self.metrics
            writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
            return out.getvalue()
        from tabulate import tabulate

        table = [[plain_value(r[g]) for g in self.group_by] + [format_value(r[m]) for m in self.metrics] for r in self.rows]
        note = (
            "\n'>=' marks a lower bound: confidential CBS cells are inside (unknown, not zero)."
            if any(not r[m].complete and r[m].value is not None for r in self.rows for m in self.metrics)
            else ""
        )
        return tabulate(table, headers=self.group_by + self.metrics, disable_numparse=True) + note + "\n"


def plain_value(value):
    """A group-by value as JSON and CSV write it: a date as YYYY-MM-DD, anything else as it is."""
    return value.isoformat()[:10] if hasattr(value, "isoformat") else value


def coarser_grains(grain: str) -> tuple[str, ...]:
    """The metric_time grains above `grain` (a metric grouped by days can also be grouped by weeks, months, ...)."""
    return TIME_GRAINS[TIME_GRAINS.index(grain) + 1 :]


def format_value(value: MetricValue) -> str:
    if value.value is None:
        return ""
    number = value.value
    text = f"{number:.4f}" if isinstance(number, float) and not float(number).is_integer() else f"{int(round(number))}"
    return text if value.complete else f">= {text}"


class MetricLayer:
    """MetricFlow on one warehouse file; build it once and ask many questions (planning is cached).

    With `semantic_manifest` given (a published snapshot, see snapshots.py), the file is
    opened read-only through our own SqlClient and the definitions come from that
    manifest, not from the project's `target/` folder, which the next build rewrites.
    """

    def __init__(self, warehouse: Path, semantic_manifest: Path | None = None, day_grain: bool = True, month_grain: bool = True):
        if not warehouse.exists():
            raise UserError(f"no warehouse at {warehouse}; run 'anpr run' or load and build first")
        self.warehouse = warehouse
        self.semantic_manifest = semantic_manifest or PROJECT_ROOT / "target" / "semantic_manifest.json"
        self.read_only = semantic_manifest is not None
        self.day_grain = day_grain  # False: always the metrics as asked (the hourly path; tests compare the two)
        self.month_grain = month_grain and day_grain  # False: no month twins (the daily path; tests compare the two)
        self._lock = threading.Lock()  # dbt's adapter connection (the warehouse-file path) is not shared between threads
        if self.read_only:
            return
        point_dbt_at(warehouse)
        if _manifest_database() != warehouse.stem:
            # dbt names the DuckDB database after the file; the manifest must match this warehouse
            run_dbt(["parse", "--quiet"], warehouse)

    @classmethod
    def on_snapshot(cls, snapshot, day_grain: bool = True, month_grain: bool = True) -> MetricLayer:
        """The metric layer of a published snapshot (a snapshots.Snapshot), read-only."""
        return cls(snapshot.database, snapshot.semantic_manifest, day_grain=day_grain, month_grain=month_grain)

    @cached_property
    def _config(self):
        from dbt_metricflow.cli.cli_configuration import CLIConfiguration

        logging.getLogger("metricflow").setLevel(logging.WARNING)
        config = CLIConfiguration()
        config.setup(dbt_profiles_path=PROJECT_ROOT / "profiles", dbt_project_path=PROJECT_ROOT, configure_file_logging=False)
        return config

    @cached_property
    def sql_client(self):
        """The read-only client of a snapshot layer (None for a layer on the warehouse file)."""
        from .snapshot_sql import ReadOnlyDuckDbClient

        return ReadOnlyDuckDbClient(self.warehouse) if self.read_only else None

    @cached_property
    def _planner(self) -> Planner:
        """MetricFlow's engine and the plans it made: dbt's on the warehouse file, or one shared per semantic manifest
        by every snapshot layer in this process (a new snapshot with the same definitions starts with warm plans)."""
        if not self.read_only:
            with PLANNING:  # building an engine resets MetricFlow's id counter
                engine = self._config.mf
            return Planner(lambda: engine)
        return snapshot_planner(self._semantic_manifest_text)

    @cached_property
    def _semantic_manifest_text(self) -> str:
        return self.semantic_manifest.read_text()

    @cached_property
    def _plan_store(self) -> PlanStore | None:
        """Plans kept on disk for the next process: for a published snapshot's layer, beside the snapshots."""
        folder = self.semantic_manifest.parent
        if not self.read_only or not (folder / COMPLETE_MARKER).exists():
            return None
        return PlanStore(folder.parent / PLAN_CACHE, manifest_sha256(self._semantic_manifest_text))

    @property
    def engine(self):
        """MetricFlow's engine, built on first use. Use it under plans.PLANNING (MetricFlow's id generator is
        process-global), but ask for it before taking PLANNING: building it takes PLANNING too."""
        return self._planner.engine

    @cached_property
    def semantic_manifest_doc(self) -> dict:
        return json.loads(self.semantic_manifest.read_text())

    @cached_property
    def dbt_manifest(self) -> dict:
        """dbt's manifest of the build whose metrics this layer answers: a snapshot's own (beside its semantic
        manifest), so tables, docs and standard questions describe the snapshot read; else the project's."""
        beside = self.semantic_manifest.with_name("manifest.json")
        return manifest_at(beside) if self.read_only and beside.exists() else read_manifest()

    @cached_property
    def questions(self) -> tuple:
        """The standard questions (saved queries) of the same manifest: a snapshot's own, so the report and the
        service ask what the snapshot they read was built with, not what `target/` holds now."""
        from .standard_questions import read_questions  # standard_questions imports this module

        return read_questions(self.dbt_manifest)

    @cached_property
    def definitions(self) -> dict[str, dict]:
        """Metric definitions from the semantic manifest, by name."""
        return {m["name"]: m for m in self.semantic_manifest_doc["metrics"]}

    @cached_property
    def day_grain_twins(self) -> dict[str, str]:
        """Metric -> the twin answering it from a day-grain fact (`meta.day_grain_of` on the twin)."""
        return self._twins("day_grain_of")

    @cached_property
    def month_grain_twins(self) -> dict[str, str]:
        """Metric -> the twin answering it from a month-grain fact (`meta.month_grain_of` on the twin)."""
        return self._twins("month_grain_of")

    def _twins(self, meta_key: str) -> dict[str, str]:
        return {_meta(m)[meta_key]: name for name, m in self.definitions.items() if _meta(m).get(meta_key)}

    def _routes(self, group_by: list[str], templates: list[str]) -> list[dict[str, str]]:
        """The twin maps to try for a query shape, cheapest first: month twins (over day twins for the metrics without
        one) when every time in the question is a month or coarser, then the day twins."""
        if not self.day_grain:
            return []
        routes = [self.day_grain_twins]
        if self.month_grain and self.month_grain_twins and _month_or_coarser(group_by, templates):
            routes.insert(0, {**self.day_grain_twins, **self.month_grain_twins})
        return routes

    def public_metrics(self) -> list[dict]:
        """Metrics meant for users (`meta.public`): not the confidential-cell companions or the unguarded raw inputs."""
        return [m for m in self.definitions.values() if _is_public(m)]

    def group_by_names(self, metric: str) -> list[str]:
        """The dimension names MetricFlow accepts for grouping `metric` (metric_time at its finest grain)."""
        engine = self.engine  # built (under PLANNING) before PLANNING is held here: the lock is not reentrant
        with PLANNING:
            return [d.dunder_name for d in engine.simple_dimensions_for_metrics([metric])]

    def companions(self, metric: str) -> list[str]:
        meta = _meta(self._definition(metric))
        if "confidential_cells_metric" in meta:
            return [meta["confidential_cells_metric"]]
        return list(meta.get("confidential_cells_metrics", []))

    def _definition(self, metric: str) -> dict:
        if metric not in self.definitions:
            raise UserError(f"unknown metric {metric!r}; 'anpr metrics list' shows them")
        return self.definitions[metric]

    def check_grain(self, metrics: list[str], group_by: list[str]) -> None:
        """Refuses unique-vehicle metrics unless zone and month are kept apart."""
        keeps_zone = any(g == "zone" or g.startswith("zone__") for g in group_by)
        keeps_month = any(g in TIME_ITEMS_AT_MONTH for g in group_by)
        for metric in metrics:
            if _meta(self._definition(metric)).get("grain") == "zone_month" and not (keeps_zone and keeps_month):
                raise MetricRefused(ZONE_MONTH_REASON.format(metric=metric))

    def query(self, metrics: list[str], group_by: list[str] | None = None, where: list[str] | None = None) -> MetricResult:
        """Runs the query with every metric's confidential-cell companions; rows sorted by the group-by values."""
        group_by = list(group_by or [])
        self.check_grain(metrics, group_by)
        companions = {m: self.companions(m) for m in metrics}
        asked = list(dict.fromkeys(metrics + [c for cs in companions.values() for c in cs]))
        plan, frame = self._frame(asked, group_by, list(where or []))
        columns = [plan.renamed.get(c, c) for c in frame.column_names]
        returned = columns[: len(columns) - len(asked)]
        ordered = group_by if sorted(group_by) == sorted(returned) else returned  # keep the order the user asked for
        result = MetricResult(group_by=ordered, metrics=metrics)
        for raw in frame.rows:
            row = dict(zip(columns, raw))
            if all(row[m] is None for m in metrics) and not any(row[c] for cs in companions.values() for c in cs):
                continue  # nothing known and nothing hidden, e.g. the month after the last one (offset metrics)
            entry = {g: row[g] for g in result.group_by}
            for metric in metrics:
                cells = int(sum(row[c] or 0 for c in companions[metric]))
                value = _number(row[metric])
                entry[metric] = MetricValue(value, cells, cells == 0)
            result.rows.append(entry)
        result.rows.sort(key=lambda r: tuple(str(r[g]) for g in result.group_by))
        return result

    def _frame(self, asked: list[str], group_by: list[str], where: list[str]):
        """The plan and the rows of one query: the shape's plan with this query's values bound."""
        templates, values = parametrize(where)
        try:
            key, plan = self._planned(asked, group_by, templates)
        except UserError as exc:  # say it with the user's filters, not the placeholders planned in their place
            raise UserError(_with_literals(str(exc), templates, where)) from None
        if not plan.takes(len(values)):  # MetricFlow rewrote a placeholder: plan this query with its own literals
            key, templates, values = None, where, []
            plan = self._plan(asked, group_by, templates)
        try:
            return plan, self._run(plan, values)
        except Exception as exc:
            if not plan.routed:
                raise UserError(f"metric query failed: {_first_line(exc)}") from None
        # the twins' fact is missing or unreadable (a warehouse built before it existed): ask the metrics as named
        plan = self._plan(asked, group_by, templates, route=False)
        if key is not None:
            self._planner.plans.put(key, plan)
        try:
            return plan, self._run(plan, values)
        except Exception as exc:
            raise UserError(f"metric query failed: {_first_line(exc)}") from None

    def explain(self, metrics: list[str], group_by: list[str] | None = None, where: list[str] | None = None) -> str:
        """The SQL a query runs (with its companions), filter values as placeholders: which facts it reads."""
        asked = list(dict.fromkeys(metrics + [c for m in metrics for c in self.companions(m)]))
        templates, _ = parametrize(list(where or []))
        return self._planned(asked, list(group_by or []), templates)[1].statement.sql

    def _planned(self, asked: list[str], group_by: list[str], templates: list[str]) -> tuple[tuple, Plan]:
        """The plan of this query shape: from the cache, or planned by MetricFlow once and kept."""
        key = (tuple(asked), tuple(group_by), tuple(templates), self.day_grain, self.month_grain)
        plans, store = self._planner.plans, self._plan_store
        plan = plans.get(key) or (store.get(key) if store else None)
        if plan is None:
            plan = self._plan(asked, group_by, templates)
            if store:
                store.put(key, plan)
        return key, plans.put(key, plan)

    def _plan(self, asked: list[str], group_by: list[str], templates: list[str], route: bool = True) -> Plan:
        """MetricFlow's SQL for one query shape: from the month- or day-grain twins when they can answer it, else as
        asked."""
        for twins in self._routes(group_by, templates) if route else []:
            if not any(m in twins for m in asked):
                continue
            routed = [twins.get(m, m) for m in asked]
            try:
                return Plan(self._explain(routed, group_by, templates), {twins[m]: m for m in asked if m in twins})
            except Exception:  # noqa: S112 - these twins cannot answer this shape (a day or hour dimension): next
                continue
        try:
            return Plan(self._explain(asked, group_by, templates), {})
        except Exception as exc:  # MetricFlow raises many types; all mean "this query cannot be answered"
            raise UserError(f"metric query failed: {_first_line(exc)}") from None

    def _explain(self, metrics: list[str], group_by: list[str], templates: list[str]):
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        request = MetricFlowQueryRequest.create(
            metric_names=metrics, group_by_names=group_by or None, where_constraints=templates or None
        )
        engine = self.engine  # built (under PLANNING) before PLANNING is held here: the lock is not reentrant
        with PLANNING:
            return engine.explain(mf_request=request).sql_statement

    def _run(self, plan: Plan, values: list[str]):
        """Executes a plan with this query's filter values: DuckDB parameters on a snapshot, literals through dbt."""
        client = self.sql_client if self.read_only else self._config.sql_client
        sql, params = bind(plan.statement, values, as_parameters=self.read_only)
        if self.read_only:
            return client.query(sql, params)
        with self._lock:  # dbt's adapter connection is not shared between threads
            return client.query(sql, params)


def _month_or_coarser(group_by: list[str], templates: list[str]) -> bool:
    """True when the question's time (grouped or filtered) is a month or coarser, or absent; a bare `metric_time`
    means the finest grain and a day or week filter needs days, so neither is answered from months."""
    for name in group_by:
        if name.startswith("metric_time") and name.rpartition("__")[2] not in MONTH_OR_COARSER:
            return False
    for text in templates:
        if text.count("metric_time") != len(found := _METRIC_TIME_FILTER.findall(text)):
            return False  # metric_time named some other way (Dimension, a bare grain): leave it to the days
        if any(grain not in MONTH_OR_COARSER for grain in found):
            return False
    return True


def _first_line(exc: BaseException) -> str:
    """An engine error as one line. MetricFlow reports a query it cannot resolve in many lines, whose first says only
    "Got error(s) during query resolution."; the user needs what was wrong with which input, so that is kept."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].startswith("Got error(s) during query resolution") and "Message:" in lines:
        return _resolution_error(lines)
    return lines[0]


INPUT_HEADINGS = ("Object Builder Input:", "Query Input:")  # the most precise first: Entity('x') over the whole filter
_EXCEPTION_LINE = re.compile(r"^(?:\w+\.)*(\w+(?:Error|Exception)): (.+)$")


def _resolution_error(lines: list[str]) -> str:
    """The first error of MetricFlow's resolution report: an unknown group-by name with its suggestions, a filter it
    cannot parse with the parser's reason, or else the error's own message with the input it was about."""
    message = lines[lines.index("Message:") + 1]
    given = next((lines[lines.index(h) + 1] for h in INPUT_HEADINGS if h in lines[:-1]), "")
    if "does not match any of the available group-by-items" in message:
        start = lines.index("Suggestions:") + 1 if "Suggestions:" in lines else len(lines)
        suggestions = [s.strip("',\"") for s in lines[start:] if s[:1] in "'\""][:6]
        hint = f"; close to it: {', '.join(suggestions)}" if suggestions else ""
        return f"{given!r} is not something these metrics can be grouped or filtered by{hint}"
    if message.startswith("Error parsing where filter"):
        reasons = [f"{m.group(1)}: {m.group(2)}" for line in lines if (m := _EXCEPTION_LINE.match(line))]
        reason = next((r for r in reasons if not r.endswith(":")), "")  # the parser's own words, not a wrapper's
        return f"cannot read the filter {lines[lines.index(message) + 1]}" + (f": {reason}" if reason else "")
    return message + (f" ({given})" if given else "")


def _with_literals(text: str, templates: list[str], where: list[str]) -> str:
    for template, original in zip(templates, where):
        text = text.replace(template, original)
    return text


def _manifest_database() -> str | None:
    path = PROJECT_ROOT / "target" / "semantic_manifest.json"
    if not path.exists():
        return None
    models = json.loads(path.read_text()).get("semantic_models") or [{}]
    return (models[0].get("node_relation") or {}).get("database")


def _meta(definition: dict) -> dict:
    return (definition.get("config") or {}).get("meta") or {}


def _is_public(definition: dict) -> bool:
    """`meta.public` decides; a definition without it falls back to the old naming rule (companions, *_raw, *zone_months)."""
    meta, name = _meta(definition), definition["name"]
    if "public" in meta:
        return bool(meta["public"])
    return "companion_of" not in meta and not name.endswith("_raw") and not name.endswith("zone_months")


def _number(value):
    """Plain Python numbers: ints stay ints (counts), everything else becomes float; NaN is unknown."""
    if value is None or isinstance(value, int):
        return value
    number = float(value)
    return None if math.isnan(number) else number
