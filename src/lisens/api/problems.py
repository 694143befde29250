"""Errors at the HTTP edge: one table from error code (or class) to status; RFC 9457 problem+json bodies."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lisens.domain.errors import Conflict, InvalidInput, LisensError, NotFound

PROBLEM_JSON = "application/problem+json"
LOGGER = logging.getLogger("lisens.http")

# By code first: catalog names in a request body are bad input, not a missing resource.
STATUS_BY_CODE: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "TOO_MANY_FAILED_AUTHENTICATIONS": 429,
    "FORBIDDEN": 403,
    "NO_TENANT": 403,
    "NO_USER": 403,
    "UNKNOWN_PLAN": 422,
    "UNKNOWN_LICENSE": 422,
    "UNKNOWN_ADDON": 422,
    "UNKNOWN_GENERATION": 422,
    "UNKNOWN_PLAN_OR_LICENSE": 422,
    "DATABASE_UNAVAILABLE": 503,
    "DATABASE_BUSY": 503,
    "TENANT_BUSY": 409,
    "DATABASE_ERROR": 503,
    "SCHEMA_OUT_OF_DATE": 503,
    "BULK_ASSIGN_FAILED": 409,
    "NO_MIGRATION_MAPPING": 422,
    "UNKNOWN_METRIC": 422,
    "PAYLOAD_TOO_LARGE": 413,
    "BATCH_TOO_LARGE": 413,
    "UNKNOWN_TOKEN": 404,
    "NO_SIGNING_KEY": 503,
    "NO_PUBLIC_KEY": 503,
    "SIGNATURE_INVALID": 422,
    "SIGNATURE_MISSING": 422,
    "SIGNATURE_ALGORITHM": 422,
    "KEY_MISMATCH": 422,
    "PACKAGE_MALFORMED": 422,
    "PACKAGE_EXPIRED": 422,
    "PACKAGE_NOT_YET_VALID": 422,
    "PACKAGE_WRONG_TENANT": 422,
    "PACKAGE_SUPERSEDED": 409,
    "TIME_NOT_ALLOWED": 403,
    "CHANGE_IN_FUTURE": 422,
    "UNKNOWN_SCHEDULED_CHANGE": 404,
    "NOT_PENDING": 409,
}
STATUS_BY_CLASS: tuple[tuple[type[LisensError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
)


def status_of(error: LisensError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def problem(status: int, code: str, detail: str, *, instance: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:lisens:error:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="lisens"'} if status == 401 else {}
    if status == 429 and "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ApiError(LisensError):
    """An error raised by the API layer itself (authentication, authorisation)."""


def install(app: FastAPI) -> None:
    @app.exception_handler(LisensError)
    async def lisens_error(request: Request, error: LisensError) -> JSONResponse:
        response = problem(
            status_of(error), error.code, error.message, instance=request.url.path, **dict(error.details)
        )
        if "retry_after" in error.details:  # a bounded wait ran out (Busy): tell the client when to retry
            response.headers["Retry-After"] = str(error.details["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": ".".join(str(p) for p in e.get("loc", ())),
                "message": e.get("msg", ""),
                "input": _safe(e.get("input")),
            }
            for e in error.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = f"{first['location']}: {first['message']}" if first["location"] else str(first["message"])
        return problem(422, "INVALID_REQUEST", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # A bug, not bad input: logged with its traceback, answered without internals.
        LOGGER.exception("unexpected error", extra={"fields": {"path": request.url.path}})
        return problem(500, "INTERNAL_ERROR", "an unexpected error occurred", instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "HTTP_ERROR")
        return problem(error.status_code, code, str(error.detail), instance=request.url.path)


def _safe(value: Any) -> Any:
    """The offending input, if it is small and JSON-friendly."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    return None
