"""Errors at the HTTP edge: each code's status from the registry (`lisens.domain.errors.Code`); RFC 9457
problem+json bodies."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lisens.domain.errors import ApiError as ApiError  # raised by the routes; defined with the other errors
from lisens.domain.errors import Code, LisensError

PROBLEM_JSON = "application/problem+json"
LOGGER = logging.getLogger("lisens.http")

# Pydantic error types raised by our own validators (lisens.api.schemas), answered with their own code.
CODE_BY_ERROR_TYPE: Mapping[str, Code] = MappingProxyType({"invalid_time": Code.INVALID_TIME})


def status_of(error: LisensError) -> int:
    """The status of the error's code, from the registry (`lisens.domain.errors.Code`)."""
    code = Code.of(error.code)
    return code.status if code is not None else Code.LISENS_ERROR.status


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


def error_problem(error: LisensError, *, instance: str) -> JSONResponse:
    """The answer to a refusal: its code's status, its message and details."""
    response = problem(status_of(error), error.code, error.message, instance=instance, **dict(error.details))
    if "retry_after" in error.details:  # a bounded wait ran out (Busy): tell the client when to retry
        response.headers["Retry-After"] = str(error.details["retry_after"])
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(LisensError)
    async def lisens_error(request: Request, error: LisensError) -> JSONResponse:
        return error_problem(error, instance=request.url.path)

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
        return problem(422, own[0] if own else Code.INVALID_REQUEST, detail, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # Reached only for an error in the outermost middleware: RequestMiddleware answers every other one.
        log_unexpected(error, method=request.method, path=request.url.path, request_id=None)
        return internal_error(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}.get(error.status_code, Code.HTTP_ERROR)
        return problem(error.status_code, code, str(error.detail), instance=request.url.path)


def internal_error(instance: str) -> JSONResponse:
    return problem(Code.INTERNAL_ERROR.status, Code.INTERNAL_ERROR, "an unexpected error occurred", instance=instance)


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
