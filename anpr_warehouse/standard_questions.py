"""The standard questions municipalities ask (domain.md, "What municipalities want to see").

They are defined once, as `saved_queries` of the dbt semantic layer
(models/marts/standard_questions.yml), so `mf validate-configs` checks every metric
and group-by at build time instead of an export finding a typo. This module reads
them from dbt's manifest and asks them per municipality (and month), so a vendor's
package, the municipality's own dashboard and the HTTP service show the same numbers
from the same queries. A question may name its total (`config.meta.part_of`): then
its rows are parts of that total, and the differencing guard checks that no single
confidential cell can be recovered as "total minus visible parts".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dbt_manifest import PACKAGE, read_manifest
from .errors import UserError
from .metrics import MetricLayer, MetricResult

_GROUP_BY_ITEM = re.compile(r"""(TimeDimension|Dimension|Entity)\(\s*'([^']+)'\s*(?:,\s*'([^']+)'\s*)?\)""")


@dataclass(frozen=True)
class Question:
    name: str
    title_nl: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    part_of: str | None = None  # metric giving the total these rows are parts of (same query minus `part_dimension`)
    part_dimension: str | None = None
    where: tuple[str, ...] = ()  # the saved query's own filters; the municipality and month are added per request


def group_by_name(item: str) -> str:
    """A saved query's group-by item as MetricFlow's query name: TimeDimension('metric_time', 'month') -> metric_time__month."""
    match = _GROUP_BY_ITEM.fullmatch(item.strip())
    if not match:
        raise UserError(f"saved query group-by {item!r} is not Dimension(...), TimeDimension(...) or Entity(...)")
    kind, name, grain = match.groups()
    return f"{name}__{grain}" if kind == "TimeDimension" and grain else name


def question_from_saved_query(node: dict) -> Question:
    params, meta = node["query_params"], (node.get("config") or {}).get("meta") or {}
    where = (params.get("where") or {}).get("where_filters") or []
    return Question(
        name=node["name"],
        title_nl=node.get("label") or node["name"],
        metrics=tuple(params["metrics"]),
        group_by=tuple(group_by_name(item) for item in params["group_by"]),
        part_of=meta.get("part_of"),
        part_dimension=meta.get("part_dimension"),
        where=tuple(f["where_sql_template"] for f in where),
    )


def read_questions(manifest: dict | None = None) -> tuple[Question, ...]:
    """Every saved query of this project in dbt's manifest, by name."""
    nodes = (manifest or read_manifest()).get("saved_queries", {}).values()
    questions = [question_from_saved_query(n) for n in nodes if n["package_name"] == PACKAGE]
    if not questions:
        raise UserError("no saved queries in target/manifest.json; run 'dbt parse' (or 'anpr build')")
    return tuple(sorted(questions, key=lambda q: q.name))


def __getattr__(name: str):
    """QUESTIONS is read from the manifest on first use, then kept (importing this module stays cheap)."""
    if name == "QUESTIONS":
        questions = globals()["QUESTIONS"] = read_questions()
        return questions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def month_filter(municipality: str, month_start: str | None) -> list[str]:
    """MetricFlow filters for one municipality (and optionally one month)."""
    filters = [f"{{{{ Entity('municipality') }}}} = '{municipality}'"]
    if month_start:
        filters.append(f"{{{{ TimeDimension('metric_time', 'month') }}}} = '{month_start}'")
    return filters


def answer(layer: MetricLayer, question: Question, municipality: str, month_start: str | None) -> MetricResult:
    return layer.query(
        list(question.metrics), list(question.group_by), list(question.where) + month_filter(municipality, month_start)
    )


def total_for(layer: MetricLayer, question: Question, municipality: str, month_start: str | None) -> MetricResult | None:
    """The total the question's rows are parts of, grouped like the question minus the part dimension."""
    if not question.part_of:
        return None
    group_by = [g for g in question.group_by if g != question.part_dimension]
    return layer.query([question.part_of], group_by, list(question.where) + month_filter(municipality, month_start))
