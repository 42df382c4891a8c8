"""The standard questions of one municipality-month in as few metric-layer queries as there are shapes.

MetricFlow plans every query in pure Python (a few hundred milliseconds each, most of
an export's time), and a package asks 17 questions plus 7 totals. Questions that group
by the same dimensions with the same filters become one query with all their metrics,
split again per question. The split gives what `MetricLayer.query` gives for the
question alone: its group-by order, its rows sorted the same way, and no row where
none of its metrics is known or hidden. A merged query MetricFlow cannot answer (a
group-by it resolves differently for two metrics) is asked question by question.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError
from .metrics import MetricLayer, MetricResult
from .standard_questions import Question, month_filter

TOTAL = "total:"  # answers() key prefix of a question's total (the total its rows are parts of)


@dataclass(frozen=True)
class _Ask:
    key: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    where: tuple[str, ...]


def answers(
    layer: MetricLayer, questions: tuple[Question, ...], municipality: str, month_start: str | None, totals: bool = False
) -> dict[str, MetricResult]:
    """question name -> its answer; with `totals`, also 'total:<name>' -> the total of a question with parts."""
    filters = month_filter(municipality, month_start)
    results: dict[str, MetricResult] = {}
    for (_, where), members in _shapes(questions, totals).items():
        metrics = list(dict.fromkeys(m for ask in members for m in ask.metrics))
        try:
            merged = layer.query(metrics, list(members[0].group_by), list(where) + filters) if len(members) > 1 else None
        except UserError:
            merged = None
        for ask in members:
            if merged is None:
                results[ask.key] = layer.query(list(ask.metrics), list(ask.group_by), list(where) + filters)
            else:
                results[ask.key] = _part(merged, ask)
    return results


def plan_ahead(layer: MetricLayer, questions: tuple[Question, ...]) -> None:
    """Plans every query `answers` asks for a municipality-month (totals included) without running any.

    On a published snapshot the plans are stored (plans.PlanStore), so the export and report processes
    that follow plan nothing: `anpr build` can call this after publishing. Plans do not depend on the
    municipality or month (their values are bound at query time), and when the plans of these
    definitions are stored already this builds no MetricFlow engine and costs milliseconds.
    """
    where_values = month_filter("GM0000", "2000-01-01")
    for (_, where), members in _shapes(questions, totals=True).items():
        metrics = list(dict.fromkeys(m for ask in members for m in ask.metrics))
        try:
            if len(members) > 1:
                layer.check_grain(metrics, list(members[0].group_by))  # what `query` refuses, `answers` asks apart
                layer.explain(metrics, list(members[0].group_by), list(where) + where_values)
                continue
        except UserError:
            pass  # `answers` asks these one by one too
        for ask in members:
            layer.explain(list(ask.metrics), list(ask.group_by), list(where) + where_values)


def _shapes(questions: tuple[Question, ...], totals: bool) -> dict[tuple, list[_Ask]]:
    """The questions (and their totals) grouped by what one query can answer: the same group-by and filters."""
    asks = []
    for question in questions:
        asks.append(_Ask(question.name, question.metrics, question.group_by, question.where))
        if totals and question.part_of:
            group_by = tuple(g for g in question.group_by if g != question.part_dimension)
            asks.append(_Ask(TOTAL + question.name, (question.part_of,), group_by, question.where))
    shapes: dict[tuple, list[_Ask]] = {}
    for ask in asks:
        shapes.setdefault((frozenset(ask.group_by), ask.where), []).append(ask)
    return shapes


def _part(merged: MetricResult, ask: _Ask) -> MetricResult:
    """One question's rows of a merged answer, as the question alone would have them."""
    group_by = list(ask.group_by) if sorted(ask.group_by) == sorted(merged.group_by) else merged.group_by
    rows = [
        {**{g: row[g] for g in group_by}, **{m: row[m] for m in ask.metrics}}
        for row in merged.rows
        if any(row[m].value is not None or row[m].confidential_cells for m in ask.metrics)
    ]
    rows.sort(key=lambda r: tuple(str(r[g]) for g in group_by))
    return MetricResult(group_by=group_by, metrics=list(ask.metrics), rows=rows)
