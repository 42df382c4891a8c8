"""The application factory: FastAPI app with auth, entitlement, snapshots, problem+json and the access log.

`create_app(warehouse, vendors)` is all `anpr serve` and the tests need. Every /v1
and /ogc operation takes `Authorization: Bearer <key>`; the spec and its HTML
reference stay public. Every response of those paths carries `X-Snapshot-Id`, the
snapshot it was answered from, and every request is logged.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from . import problems
from .problems import Problem, problem_response
from .state import Caller, ServiceState

API_TITLE = "ANPR city-logistics warehouse: vendor API"
API_VERSION = "1.0.0"
API_DESCRIPTION = """\
Enriched ANPR statistics for Dutch city logistics (CBS deliveries), for digital-twin vendors and analysts.

* **Authentication**: every `/v1`, `/ogc` and `/odata` operation needs `Authorization: Bearer <key>`; the operator
  creates keys with `anpr keys create --vendor NAME`. The spec (`/v1/openapi.json`) and this reference
  (`/v1/docs`) are public.
* **Entitlement**: a vendor key sees only the municipalities of its `vendors.yml` entry. Any other
  municipality is answered exactly like one that does not exist (404).
* **Snapshots**: every answer comes from one immutable published snapshot of the warehouse; the
  `X-Snapshot-Id` response header names it. Numbers from the same snapshot id are consistent.
* **Confidentiality**: a value with `complete: false` includes confidential CBS cells: it is a lower bound, and
  `null` means unknown (never zero). Unique vehicles are counted per zone and month and never added up.
* **Errors**: RFC 9457 `application/problem+json` documents with a `detail` saying what to change.
* **Rate limit**: per key; a 429 answer says in `Retry-After` how many seconds to wait.
"""
PUBLIC_PATHS = {"/v1/openapi.json", "/v1/docs"}
bearer = HTTPBearer(auto_error=False, description="An API key from `anpr keys create`, e.g. `anpr_1a2b3c4d_...`")

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemModel"}}}
COMMON_RESPONSES = {
    401: {"description": "No valid API key (missing, malformed, unknown or revoked)", "content": PROBLEM_CONTENT},
    404: {"description": "Not found; a municipality your key may not read is not found either", "content": PROBLEM_CONTENT},
    422: {"description": "The request is not valid; `detail` says what to change", "content": PROBLEM_CONTENT},
    429: {
        "description": "Rate limit of this key reached; retry after `Retry-After` seconds",
        "content": PROBLEM_CONTENT,
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    },
    503: {"description": "No published snapshot yet (the warehouse has not been built)", "content": PROBLEM_CONTENT},
}


def state_of(request: Request) -> ServiceState:
    return request.app.state.service


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    """The caller of this request: a valid, unrevoked key within its rate limit."""
    service = state_of(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401,
            "unauthorized",
            "send 'Authorization: Bearer <key>'; the operator creates keys with 'anpr keys create'",
            {"WWW-Authenticate": "Bearer"},
        )
    key = service.keys.verify(credentials.credentials)
    if key is None:
        raise Problem(
            401,
            "unauthorized",
            "this API key is not valid (unknown, malformed or revoked); ask the operator for a new one",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.state.key_id = key.id
    wait = service.limiter.retry_after(key.id)
    if wait is not None:
        raise Problem(429, "rate-limited", f"rate limit of key {key.id} reached; retry in {wait} s", {"Retry-After": str(wait)})
    return Caller(key, service.vendor_municipalities(key.vendor))


class SnapshotAndLog:
    """ASGI middleware: pins each /v1 and /ogc request to the current snapshot, adds X-Snapshot-Id, logs the request.

    Plain ASGI rather than BaseHTTPMiddleware: it costs a few microseconds per request,
    which matters for cached answers. Handlers put `rows` and `municipality` into
    `request.state` (the scope's state dict) for the log line.
    """

    def __init__(self, app, service: ServiceState):
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(("/v1/", "/ogc", "/odata/")) or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        state = scope.setdefault("state", {})
        state.update(key_id=None, rows=None, municipality=(query.get("municipality") or [None])[0])
        status = {"code": 500, "sent": False}
        snapshot_id = None
        try:
            ctx = self.service.context()
        except Problem as exc:
            response = problem_response(Request(scope), exc.status, exc.slug, exc.detail, exc.headers)
            status["code"] = response.status_code
            await response(scope, receive, send)
        else:
            state["ctx"] = ctx
            snapshot_id = ctx.id

            async def send_with_snapshot(message):
                if message["type"] == "http.response.start":
                    status.update(code=message["status"], sent=True)
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-snapshot-id", snapshot_id.encode())]
                await send(message)

            try:
                await self.app(scope, receive, send_with_snapshot)
            except Exception:  # answered nowhere yet: log it and answer a problem (never a traceback)
                problems.log.exception("unexpected error on %s", path)
                if not status["sent"]:
                    response = problem_response(
                        Request(scope),
                        500,
                        "internal-error",
                        "the service failed to answer; the operator has the details in the server log",
                        {"X-Snapshot-Id": snapshot_id},
                    )
                    await response(scope, receive, send)
                status["code"] = 500
        self.service.access_log.write(
            {
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "key_id": state.get("key_id"),
                "method": scope.get("method"),
                "endpoint": path,
                "municipality": state.get("municipality"),
                "rows": state.get("rows"),
                "status": status["code"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "snapshot": snapshot_id,
            }
        )


def create_app(warehouse: Path, vendors: Path, rate_per_second: float = 50.0, burst: int = 100) -> FastAPI:
    from . import routes_odata, routes_ogc, routes_v1, spec_html

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        servers=[{"url": "/", "description": "this service"}],
        generate_unique_id_function=lambda route: route.name,
    )  # operationIds a vendor's client generator can use
    app.state.service = ServiceState(warehouse, vendors, rate_per_second, burst)
    problems.install(app)
    app.include_router(routes_v1.router, dependencies=[Depends(authenticate)], responses=COMMON_RESPONSES)
    app.include_router(routes_ogc.router, dependencies=[Depends(authenticate)], responses=COMMON_RESPONSES)
    app.include_router(routes_odata.router, dependencies=[Depends(authenticate)], responses=COMMON_RESPONSES)

    base_openapi = app.openapi

    def openapi() -> dict:
        """FastAPI's document plus the problem schema the error responses refer to."""
        if app.openapi_schema is None:
            spec = base_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {})["ProblemModel"] = (
                problems.ProblemModel.model_json_schema()
            )
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi

    @app.get("/v1/openapi.json", include_in_schema=False)
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(spec_html.render(app.openapi()))

    app.add_middleware(SnapshotAndLog, service=app.state.service)
    return app
