"""The /v1 operations: municipalities, periods, metrics, query, standard questions, marts, packages."""

from __future__ import annotations

import base64
import difflib
import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..dbt_manifest import vendor_package_tables
from ..metrics import MetricRefused
from .app import PROBLEM_CONTENT, authenticate
from .problems import Problem
from .query import QueryRequest, run_query
from .state import Caller, SnapshotContext, entitled_month, entitled_municipality

router = APIRouter(prefix="/v1")
MUNICIPALITY = r"^GM\d{4}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MARTS = sum(vendor_package_tables(), ())  # the spec's table names: the code's own build (api/openapi.yaml)
PAGE_MAX = 5000


def ctx_of(request: Request) -> SnapshotContext:
    return request.state.ctx


# ---- models -----------------------------------------------------------------------------------------------------------


class Municipality(BaseModel):
    code: str = Field(examples=["GM0344"])
    name: str = Field(examples=["Utrecht"])
    province: str | None = Field(examples=["Utrecht"])
    months: list[str] = Field(description="Months with a current delivery (YYYY-MM)", examples=[["2025-01", "2025-02"]])


class DeliveryVersion(BaseModel):
    delivery_id: str = Field(examples=["CBS-ANPR-GM0344-2025MM03-2"])
    version: int = Field(examples=[2])
    layout: str = Field(examples=["v1"])
    status: str = Field(description="current or superseded", examples=["current"])
    loaded_at: str | None = Field(examples=["2025-04-10T08:00:00"])
    superseded_by: str | None = Field(default=None, examples=[None])


class Period(BaseModel):
    month: str = Field(examples=["2025-03"])
    delivery_id: str = Field(description="The current delivery of the month", examples=["CBS-ANPR-GM0344-2025MM03-2"])
    version: int = Field(examples=[2])
    corrected: bool = Field(description="True when an earlier delivery of this month was replaced", examples=[True])
    history: list[DeliveryVersion] = Field(description="Every delivery of the month, oldest first")


class Periods(BaseModel):
    municipality: str = Field(examples=["GM0344"])
    periods: list[Period]


class MetricInfo(BaseModel):
    name: str = Field(examples=["logistics_passages"])
    label: str | None = Field(examples=["Logistics passages"])
    description: str | None = None
    type: str = Field(examples=["simple"])
    per_zone_and_month_only: bool = Field(
        description="Counted per zone and month (unique vehicles): group by zone and metric_time__month"
    )
    group_by: list[str] = Field(
        description="Names accepted in `group_by` for this metric", examples=[["metric_time__month", "zone"]]
    )
    filters: list[str] = Field(description="Names accepted as keys of `filters`", examples=[["municipality", "zone"]])


class MetricValueModel(BaseModel):
    value: float | int | None = Field(description="null: unknown (only confidential cells)", examples=[1520])
    confidential_cells: int = Field(description="Confidential CBS cells inside the value", examples=[3])
    complete: bool = Field(description="false: the value is a lower bound (or unknown when null)", examples=[False])


class MetricRows(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "metrics": ["logistics_passages"],
                    "group_by": ["metric_time__month"],
                    "rows": [
                        {
                            "metric_time__month": "2025-03-01",
                            "logistics_passages": {"value": 1520, "confidential_cells": 3, "complete": False},
                        }
                    ],
                }
            ]
        }
    )
    metrics: list[str]
    group_by: list[str]
    rows: list[dict[str, Any]] = Field(
        description="Group-by values, and per metric an object {value, confidential_cells, complete}"
    )


class QuestionInfo(BaseModel):
    name: str = Field(examples=["overview_month"])
    title_nl: str = Field(examples=["Overzicht per maand"])
    metrics: list[str]
    group_by: list[str]


class QuestionAnswer(MetricRows):
    question: str = Field(examples=["overview_month"])
    title_nl: str
    municipality: str = Field(examples=["GM0344"])
    month: str | None = Field(examples=["2025-03"])


class MartPage(BaseModel):
    table: str = Field(examples=["fct_passages_hourly"])
    columns: list[str]
    rows: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page", examples=[None])


# ---- municipalities -----------------------------------------------------------------------------------------------------


@router.get(
    "/municipalities",
    response_model=list[Municipality],
    tags=["municipalities"],
    summary="Municipalities your key can read, with their loaded months",
    response_description="One entry per municipality: code, name, province and the months with a current delivery",
)
def list_municipalities(request: Request, caller: Caller = Depends(authenticate)) -> list[dict]:
    ctx = ctx_of(request)
    rows = [
        info
        for code, info in ctx.municipalities.items()
        if caller.sees(code) and (caller.municipalities is not None or info["months"])
    ]
    request.state.rows = len(rows)
    return rows


@router.get(
    "/municipalities/{code}/periods",
    response_model=Periods,
    tags=["municipalities"],
    summary="Per month: the current delivery, its version and the correction history",
    response_description="The months of the municipality; `history` lists superseded deliveries too",
)
def municipality_periods(
    request: Request, code: str = PathParam(pattern=MUNICIPALITY, examples=["GM0344"]), caller: Caller = Depends(authenticate)
) -> dict:
    ctx = ctx_of(request)
    request.state.municipality = code
    entitled_municipality(ctx, caller, code)
    history: dict[str, list[dict]] = {}
    for row in ctx.rows(
        """select period_start, delivery_id, version, layout, status, strftime(loaded_at, '%Y-%m-%dT%H:%M:%S'), superseded_by
           from raw.cbs_deliveries where municipality_code = ? order by period_start, version, loaded_at""",
        [code],
    ):
        history.setdefault(row[0].isoformat()[:7], []).append(
            {
                "delivery_id": row[1],
                "version": row[2],
                "layout": row[3],
                "status": row[4],
                "loaded_at": row[5],
                "superseded_by": row[6],
            }
        )
    result = []
    for month, versions in history.items():
        current = [v for v in versions if v["status"] == "current"]
        if current:
            result.append(
                {
                    "month": month,
                    "delivery_id": current[-1]["delivery_id"],
                    "version": current[-1]["version"],
                    "corrected": len(versions) > 1,
                    "history": versions,
                }
            )
    request.state.rows = len(result)
    return {"municipality": code, "periods": result}


# ---- metrics --------------------------------------------------------------------------------------------------------------


def unknown_name(kind: str, name: str, known: list[str], listing: str) -> Problem:
    """404 for a name that is not there, with the closest known names (also in `closest`, for clients)."""
    closest = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(closest)}?" if closest else f"; GET {listing} lists them"
    return Problem(404, f"unknown-{kind}", f"no {kind} {name!r}{hint}", closest=closest)


def metric_or_404(ctx: SnapshotContext, name: str) -> dict:
    if name not in ctx.catalogue:
        raise unknown_name("metric", name, list(ctx.catalogue), "/v1/metrics")
    return ctx.catalogue[name]


@router.get(
    "/metrics",
    response_model=list[MetricInfo],
    tags=["metrics"],
    summary="The metric catalogue (semantic layer)",
    response_description="Every public metric with label, description, type and the names it can be grouped and filtered by",
)
def list_metrics(request: Request) -> list[dict]:
    catalogue = list(ctx_of(request).catalogue.values())
    request.state.rows = len(catalogue)
    return catalogue


@router.get(
    "/metrics/{name}",
    response_model=MetricInfo,
    tags=["metrics"],
    summary="One metric: definition, group-by and filter names",
    response_description="The metric; an unknown name gets 404 with the closest names in `closest`",
)
def get_metric(request: Request, name: str = PathParam(max_length=100, examples=["logistics_passages"])) -> dict:
    return metric_or_404(ctx_of(request), name)


def json_document(body: dict, rows: int) -> tuple[bytes, int]:
    """A response encoded once per snapshot (kept in `ctx.documents`), with its row count for the access log."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), rows


def document_response(request: Request, document: tuple[bytes, int]) -> Response:
    request.state.rows = document[1]
    return Response(document[0], media_type="application/json")


@router.post(
    "/query",
    response_model=MetricRows,
    tags=["metrics"],
    summary="Ad-hoc metric query",
    response_description="Rows of group-by values with {value, confidential_cells, complete} per metric",
    description="Metrics grouped and filtered by names from the catalogue. Filters are validated and rendered by the "
    "service (no SQL or templates from the request reach the engine). A vendor key is always restricted "
    "to its municipalities. Unique-vehicle metrics need `zone` and `metric_time__month` in `group_by` (else 422).",
)
def query_metrics(request: Request, body: QueryRequest, caller: Caller = Depends(authenticate)) -> dict:
    ctx = ctx_of(request)

    def encode() -> tuple[bytes, int]:
        for name in body.metrics:
            metric_or_404(ctx, name)
        try:
            result = run_query(ctx, caller, body, ctx.catalogue)
        except MetricRefused as exc:
            raise Problem(422, "not-additive", str(exc)) from None
        return json_document(
            {"metrics": result.metrics, "group_by": result.group_by, "rows": result.json_rows()}, len(result.rows)
        )

    # the same question on the same (immutable) snapshot is answered from memory
    return document_response(request, ctx.documents.once(("query", caller.municipalities, body.model_dump_json()), encode))


# ---- standard questions ---------------------------------------------------------------------------------------------------


@router.get(
    "/questions",
    response_model=list[QuestionInfo],
    tags=["questions"],
    summary="The standard questions the export packages and the report answer",
    response_description="Name, Dutch title, metrics and group-by of every standard question",
)
def list_questions(request: Request) -> list[dict]:
    questions = ctx_of(request).layer.questions
    return [{"name": q.name, "title_nl": q.title_nl, "metrics": list(q.metrics), "group_by": list(q.group_by)} for q in questions]


@router.get(
    "/questions/{name}",
    response_model=QuestionAnswer,
    tags=["questions"],
    summary="A standard question answered for one municipality (and month); cached per snapshot",
    response_description="The same rows as metrics/<question>.json in the export package (values that would allow 'total minus visible parts' are withheld there and here)",
)
def answer_question(
    request: Request,
    name: str = PathParam(max_length=100, examples=["overview_month"]),
    municipality: str = Query(pattern=MUNICIPALITY, examples=["GM0344"]),
    month: str | None = Query(
        default=None, pattern=MONTH, description="YYYY-MM; default: every loaded month", examples=["2025-03"]
    ),
    caller: Caller = Depends(authenticate),
) -> dict:
    ctx = ctx_of(request)
    questions = {q.name: q for q in ctx.layer.questions}
    if name not in questions:
        raise unknown_name("question", name, list(questions), "/v1/questions")
    entitled_month(ctx, caller, municipality, month)

    def encode() -> tuple[bytes, int]:
        result = ctx.question_answer(name, municipality, month)
        body = {
            "question": name,
            "title_nl": questions[name].title_nl,
            "municipality": municipality,
            "month": month,
            "metrics": result.metrics,
            "group_by": result.group_by,
            "rows": result.json_rows(),
        }
        return json_document(body, len(result.rows))

    # encoded once per snapshot: a cached answer costs no validation or serialisation
    return document_response(request, ctx.documents.once(("question", name, municipality, month), encode))


# ---- marts ----------------------------------------------------------------------------------------------------------------


def _mart_sql(
    ctx: SnapshotContext, caller: Caller, table: str, municipality: str | None, month: str | None
) -> tuple[str, list, list[str]]:
    columns = [
        r[0]
        for r in ctx.rows(
            "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? order by column_index",
            [table],
        )
    ]
    where, params = [], []
    if municipality:
        entitled_municipality(ctx, caller, municipality)
    if "municipality_code" in columns:
        if municipality:
            where.append("municipality_code = ?")
            params.append(municipality)
        elif caller.municipalities is not None:
            allowed = sorted(caller.municipalities)
            where.append(f"municipality_code in ({', '.join('?' for _ in allowed)})" if allowed else "false")
            params += allowed
    if month:
        if "month_start" not in columns:
            raise Problem(422, "invalid-request", f"{table} has no months; leave out month")
        where.append("month_start = ?")
        params.append(f"{month}-01")
    sql = f'select * from marts."{table}"' + (f" where {' and '.join(where)}" if where else "") + " order by all"
    return sql, params, columns


@router.get(
    "/marts/{table}",
    tags=["marts"],
    summary="Entitled rows of a fact or dimension table",
    response_model=MartPage,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "A JSON page, or the whole selection as CSV or Parquet (streamed)",
        },
        409: {
            "description": "The cursor belongs to an earlier snapshot (a build published new data): start again without cursor",
            "content": PROBLEM_CONTENT,
        },
    },
    description="Facts are filtered to your municipalities (one with `municipality`) and optionally one `month`; code lists "
    "are returned whole. JSON comes in pages of `limit` rows with `next_cursor`; CSV and Parquet return every row.",
)
def get_mart(
    request: Request,
    table: Literal[MARTS] = PathParam(examples=["fct_passages_hourly"]),  # type: ignore[valid-type]
    municipality: str | None = Query(default=None, pattern=MUNICIPALITY, examples=["GM0344"]),
    month: str | None = Query(default=None, pattern=MONTH, examples=["2025-03"]),
    format: Literal["json", "csv", "parquet"] = Query(default="json"),
    limit: int = Query(default=1000, ge=1, le=PAGE_MAX),
    cursor: str | None = Query(default=None, max_length=64, description="next_cursor of the previous page"),
    caller: Caller = Depends(authenticate),
):
    ctx = ctx_of(request)
    sql, params, columns = _mart_sql(ctx, caller, table, municipality, month)
    if format == "json":
        offset = _offset(cursor, ctx.id)
        con = ctx.cursor()
        try:
            rows = con.execute(f"{sql} limit {limit + 1} offset {offset}", params).fetchall()
        finally:
            con.close()
        more = len(rows) > limit
        rows = rows[:limit]
        request.state.rows = len(rows)
        next_cursor = base64.urlsafe_b64encode(f"{ctx.id}:{offset + limit}".encode()).decode() if more else None
        return {"table": table, "columns": columns, "rows": [dict(zip(columns, r)) for r in rows], "next_cursor": next_cursor}
    return _stream(ctx, sql, params, format, table)


def _offset(cursor: str | None, snapshot_id: str) -> int:
    """The row offset a cursor points at, valid only in the snapshot that gave it out.

    Why: pages of one walk must come from one snapshot; after a build publishes a new one, an old cursor's
    offset would silently skip or repeat rows, so it is refused (409) and the client starts again.
    """
    if not cursor:
        return 0
    try:
        issued_by, offset = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit(":", 1)
        position = max(0, int(offset))
    except ValueError:
        raise Problem(
            422, "invalid-cursor", "cursor is not a next_cursor this API gave out; start again without cursor"
        ) from None
    if issued_by != snapshot_id:
        raise Problem(
            409,
            "snapshot-changed",
            f"the data was republished (snapshot {snapshot_id}) since this cursor was given out; "
            "start again without cursor to page through one consistent snapshot",
        )
    return position


def _stream(ctx: SnapshotContext, sql: str, params: list, fmt: str, table: str) -> StreamingResponse:
    """CSV or Parquet written batch by batch; the query runs before the headers go out, so errors stay problems."""
    import io

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    con = ctx.cursor()
    try:
        reader = con.execute(sql, params).to_arrow_reader(50_000)
    except BaseException:
        con.close()
        raise

    def chunks():
        sink = io.BytesIO()
        writer = (
            pacsv.CSVWriter(sink, reader.schema) if fmt == "csv" else pq.ParquetWriter(sink, reader.schema, compression="zstd")
        )
        try:
            for batch in reader:
                writer.write_batch(batch)
                yield sink.getvalue()
                sink.seek(0)
                sink.truncate()
            writer.close()
            yield sink.getvalue()
        finally:
            con.close()

    media = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
    return StreamingResponse(chunks(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{table}.{fmt}"'})


# ---- packages -------------------------------------------------------------------------------------------------------------


@router.get(
    "/packages/{municipality}/{month}",
    tags=["packages"],
    summary="The export package of a municipality and month, as one zip",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The package (marts, metric answers, GeoJSON, data dictionary, manifest.json)",
            "headers": {"ETag": {"schema": {"type": "string"}, "description": "SHA-256 of the package's manifest.json"}},
        },
        304: {"description": "Not modified: your If-None-Match matches the current package"},
    },
    description="The same package `anpr export` writes. `ETag` is the SHA-256 of its manifest.json; send it back in "
    "`If-None-Match` to get 304 when nothing changed.",
)
def get_package(
    request: Request,
    municipality: str = PathParam(pattern=MUNICIPALITY, examples=["GM0344"]),
    month: str = PathParam(pattern=MONTH, examples=["2025-03"]),
    caller: Caller = Depends(authenticate),
):
    from .packages import package_zip

    ctx = ctx_of(request)
    request.state.municipality = municipality
    entitled_month(ctx, caller, municipality, month)
    service = request.app.state.service
    vendor = service.vendor_formats(caller.key.vendor)
    zip_path, etag = package_zip(ctx, vendor, caller.key.vendor, municipality, month)
    quoted = f'"{etag}"'
    if request.headers.get("if-none-match") in (quoted, etag):
        return Response(status_code=304, headers={"ETag": quoted})
    return Response(
        zip_path.read_bytes(),
        media_type="application/zip",
        headers={"ETag": quoted, "Content-Disposition": f'attachment; filename="{municipality}-{month}.zip"'},
    )
