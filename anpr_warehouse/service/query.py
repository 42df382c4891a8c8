"""POST /v1/query: the request model, its validation against the catalogue, and the filters the service renders.

No text from the request reaches MetricFlow as SQL or Jinja: names must be in the
metric catalogue (from the semantic manifest), values must look like codes, and
the service writes the `{{ Entity(...) }}` filters itself. A vendor key always
gets its municipalities as a filter. The values do not reach MetricFlow at all:
the metric layer plans each query shape once with placeholders and binds the
values as DuckDB parameters (plans.py), so a question with new values costs only
DuckDB.

A month range over a month-grouped question is a slice of the same question without
the range: when every metric is time-local (its value for a month depends only on
that month's cells: simple and ratio metrics, no offset or time spine), the service
asks the question once per snapshot for every month and answers each range by
keeping its months. The rows are the ones MetricFlow returns for the range (tests
compare them); DuckDB, which costs most of an ad-hoc request, runs once per shape,
municipalities and snapshot instead of once per range.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..metrics import MONTH_GROUP, MetricLayer, MetricResult
from .problems import Problem, not_found
from .state import Caller, SnapshotContext

CODE = r"^[A-Za-z0-9_.\-]{1,40}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class QueryRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "metrics": ["logistics_passages", "zero_emission_share"],
                    "group_by": ["metric_time__month"],
                    "filters": {"municipality": ["GM0344"]},
                    "month_from": "2025-01",
                    "month_to": "2025-03",
                    "order_by": ["-metric_time__month"],
                    "limit": 100,
                }
            ]
        },
    )

    metrics: list[str] = Field(min_length=1, max_length=20, description="Metric names from GET /v1/metrics")
    group_by: list[str] = Field(default=[], max_length=6, description="Names from the metrics' `group_by` lists")
    filters: dict[str, list[str]] = Field(default={}, description="Entity name (from the metrics' `filters`) -> allowed codes")
    month_from: str | None = Field(default=None, pattern=MONTH, description="First month, YYYY-MM")
    month_to: str | None = Field(default=None, pattern=MONTH, description="Last month, YYYY-MM")
    order_by: list[str] = Field(default=[], max_length=6, description="Group-by or metric names; prefix '-' for descending")
    limit: int | None = Field(default=None, ge=1, le=100_000)


def _check_code(value: str) -> str:
    import re

    if not re.fullmatch(CODE, value):
        raise Problem(422, "invalid-filter", f"filter value {value[:50]!r} is not a code (letters, digits, _ . -, at most 40)")
    return value


def run_query(ctx: SnapshotContext, caller: Caller, body: QueryRequest, catalogue: dict[str, dict]) -> MetricResult:
    allowed_group = set.intersection(*(set(catalogue[m]["group_by"]) for m in body.metrics))
    allowed_filter = set.intersection(*(set(catalogue[m]["filters"]) for m in body.metrics))
    for name in body.group_by:
        if name not in allowed_group:
            raise Problem(
                422,
                "invalid-group-by",
                f"cannot group {', '.join(body.metrics)} by {name[:60]!r}; accepted: {', '.join(sorted(allowed_group))}",
            )
    where = []
    for name, values in body.filters.items():
        if name not in allowed_filter:
            raise Problem(
                422,
                "invalid-filter",
                f"cannot filter {', '.join(body.metrics)} by {name[:60]!r}; accepted: {', '.join(sorted(allowed_filter))}",
            )
        if not values or len(values) > 200:
            raise Problem(422, "invalid-filter", f"filter {name} needs between 1 and 200 values")
        codes = [_check_code(v) for v in values]
        if name == "municipality":
            for code in codes:
                if code not in ctx.municipalities or not caller.sees(code):
                    raise not_found(f"no municipality {code!r} (GET /v1/municipalities lists the ones your key can read)")
        where.append(f"{{{{ Entity('{name}') }}}} in ({', '.join(repr(c) for c in codes)})")
    if caller.municipalities is not None and "municipality" not in body.filters:
        if "municipality" not in allowed_filter:
            raise Problem(422, "invalid-filter", "these metrics cannot be restricted to your municipalities")
        codes = sorted(caller.municipalities) or ["-none-"]
        where.append(f"{{{{ Entity('municipality') }}}} in ({', '.join(repr(c) for c in codes)})")
    ranged = body.month_from or body.month_to
    if ranged and MONTH_GROUP in body.group_by and all(time_local(ctx.layer, m) for m in body.metrics):
        every_month = ctx.computed.once(
            ("every month", tuple(body.metrics), tuple(body.group_by), tuple(where)),
            lambda: ctx.layer.query(list(body.metrics), list(body.group_by), where),
        )
        result = months_between(every_month, body.month_from, body.month_to)
    else:
        if body.month_from:
            where.append(f"{{{{ TimeDimension('metric_time', 'month') }}}} >= '{body.month_from}-01'")
        if body.month_to:
            where.append(f"{{{{ TimeDimension('metric_time', 'month') }}}} <= '{body.month_to}-01'")
        result = ctx.layer.query(list(body.metrics), list(body.group_by), where)
    known = set(result.group_by) | set(result.metrics)
    for item in reversed(body.order_by):
        name = item.lstrip("-")
        if name not in known:
            raise Problem(422, "invalid-order-by", f"order_by {name[:60]!r} is not among the group-by names or metrics")
        result.rows.sort(key=lambda r, n=name: _sort_key(r[n]), reverse=item.startswith("-"))
    if body.limit:
        result.rows = result.rows[: body.limit]
    return result


def time_local(layer: MetricLayer, name: str) -> bool:
    """True when a metric's value for a month depends only on that month's cells: a simple metric (not joined to the
    time spine) or a ratio or derived metric of such inputs without offsets. Unknown names are not (they fail later)."""
    definition = layer.definitions.get(name)
    if definition is None or definition["type"] not in ("simple", "ratio", "derived"):
        return False
    params = definition["type_params"]
    if (params.get("measure") or {}).get("join_to_timespine") or (params.get("measure") or {}).get("fill_nulls_with") is not None:
        return False
    inputs = [params.get("numerator"), params.get("denominator"), *(params.get("metrics") or [])]
    return all(not i.get("offset_window") and not i.get("offset_to_grain") and time_local(layer, i["name"]) for i in inputs if i)


def months_between(result: MetricResult, month_from: str | None, month_to: str | None) -> MetricResult:
    """The rows of a month-grouped answer from month_from to month_to (YYYY-MM, inclusive), as a new result."""
    low, high = month_from or "0000-00", month_to or "9999-99"

    def month(row) -> str | None:
        value = row[MONTH_GROUP]
        if value is None:
            return None  # MetricFlow's filter drops such a row too (null compares to nothing)
        return value.isoformat()[:7] if hasattr(value, "isoformat") else str(value)[:7]

    rows = [r for r in result.rows if (m := month(r)) is not None and low <= m <= high]
    return MetricResult(group_by=list(result.group_by), metrics=list(result.metrics), rows=rows)


def _sort_key(value):
    inner = getattr(value, "value", value)
    return (inner is None, str(inner) if not isinstance(inner, (int, float)) else inner)
