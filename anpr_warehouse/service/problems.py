"""RFC 9457 problem details: every error the API returns, as application/problem+json.

Handlers turn our own `Problem`, FastAPI's validation errors, unknown routes and
anything unexpected into a problem document with a message a vendor can act on;
a traceback never leaves the process (it goes to the server's log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "https://github.com/anpr-warehouse/api/problems/"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
log = logging.getLogger("anpr.service")


class ProblemModel(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem", examples=[PROBLEM_TYPE + "not-found"])
    title: str = Field(description="Short summary of the kind of problem", examples=["Not found"])
    status: int = Field(description="HTTP status code", examples=[404])
    detail: str = Field(
        description="What went wrong with this request and what to do about it",
        examples=["no municipality 'GM9999' (GET /v1/municipalities lists yours)"],
    )
    instance: str | None = Field(default=None, description="The request path", examples=["/v1/municipalities/GM9999/periods"])
    closest: list[str] | None = Field(default=None, description="Closest known names, when a name was not found")


class Problem(Exception):
    """An error answer: status, a short slug for `type`, and a detail the caller can act on."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers, self.extra = status, slug, detail, headers or {}, extra


def problem_response(request: Request, status: int, slug: str, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE + slug,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", what)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(request, exc.status, exc.slug, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            parts.append(f"{where}: {error.get('msg')}")
        return problem_response(request, 422, "invalid-request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404:
            detail = f"no such resource {request.url.path}; GET /v1/openapi.json lists every operation"
        return problem_response(
            request,
            exc.status_code,
            "http-error" if exc.status_code != 404 else "not-found",
            detail,
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(
            request, 500, "internal-error", "the service failed to answer; the operator has the details in the server log"
        )
