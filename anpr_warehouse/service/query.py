"""POST /v1/query: the request model, its validation against the catalogue, and the filters the service renders.

No text from the request reaches MetricFlow as SQL or Jinja: names must be in the
metric catalogue (from the semantic manifest), values must look like codes, and
the service writes the `{{ Entity(...) }}` filters itself. A vendor key always
gets its municipalities as a filter. The values do not reach MetricFlow at all:
the metric layer plans each query shape once with placeholders and binds the
values as DuckDB parameters (plans.py), so a question with new values costs only
DuckDB.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..metrics import MetricResult
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


def _sort_key(value):
    inner = getattr(value, "value", value)
    return (inner is None, str(inner) if not isinstance(inner, (int, float)) else inner)
