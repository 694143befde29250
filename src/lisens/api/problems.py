"""Errors at the HTTP edge: one table from error code (or class) to status; RFC 9457 problem+json bodies."""

from __future__ import annotations

import json
import logging
import math
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
    "INVALID_TEXT": 422,
    "INVALID_NUMBER": 422,
    "JSON_TOO_DEEP": 422,
    "INVALID_TIME": 422,
    "INVALID_VALUE": 422,
}
# Pydantic error types raised by our own validators (lisens.api.schemas), answered with their own code.
CODE_BY_ERROR_TYPE: dict[str, str] = {"invalid_time": "INVALID_TIME"}
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


class ProblemResponse(JSONResponse):
    """A problem+json body that always renders: whatever a detail holds, it is answered, never a 500."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
        except ValueError:  # NaN, Infinity or a giant integer somewhere in the details
            text = json.dumps(_plain(content), ensure_ascii=False, separators=(",", ":"), default=str)
        # A lone surrogate cannot be UTF-8: it is answered as a replacement mark.
        return text.encode("utf-8", "replace")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and value.bit_length() > 1000:  # beyond what json.dumps may print
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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
    return ProblemResponse(body, status_code=status, headers=headers)


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
        own = [CODE_BY_ERROR_TYPE[e["type"]] for e in error.errors() if e.get("type") in CODE_BY_ERROR_TYPE]
        return problem(422, own[0] if own else "INVALID_REQUEST", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # Reached only for an error in the outermost middleware: RequestMiddleware answers every other one.
        log_unexpected(error, method=request.method, path=request.url.path, request_id=None)
        return internal_error(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "HTTP_ERROR")
        return problem(error.status_code, code, str(error.detail), instance=request.url.path)


def internal_error(instance: str) -> JSONResponse:
    return problem(500, "INTERNAL_ERROR", "an unexpected error occurred", instance=instance)


def log_unexpected(error: BaseException, *, method: str, path: str, request_id: str | None) -> None:
    """A bug, not bad input: logged with its traceback (the JSON log's `traceback` field), answered without
    internals."""
    LOGGER.error(
        "unexpected error",
        exc_info=(type(error), error, error.__traceback__),
        extra={"fields": {"request_id": request_id, "method": method, "path": path, "error": type(error).__name__}},
    )


def _safe(value: Any) -> Any:
    """The offending input, if it is small and JSON-friendly (NaN and Infinity are answered as text)."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _plain(value)
    if isinstance(value, str | bool) or value is None:
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    return None
