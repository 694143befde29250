"""Request ids, structured JSON logs, Prometheus metrics and the request body size limit."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lisens.api.problems import PROBLEM_JSON, internal_error, log_unexpected
from lisens.domain.errors import Code
from lisens.web.units import VERSION_HEADER, VERSION_STATE

LOGGER = logging.getLogger("lisens.http")
VERSION_HEADER_BYTES = VERSION_HEADER.lower().encode()


# ensure_ascii: a line is always printable, whatever text (lone surrogates too) a request carried.
ENCODER = json.JSONEncoder(default=str, ensure_ascii=True)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._time = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """The record's second in ISO 8601 with its offset."""
        return self._time_of(record.created)

    def _time_of(self, created: float) -> str:
        second = int(created)  # formatted once a second
        if second != self._second:
            self._time = time.strftime("%Y-%m-%dT%H:%M:%S%z", self.converter(second))
            self._second = second
        return self._time

    def _data(self, created: float, level: str, logger: str, message: str, fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"time": self._time_of(created), "level": level, "logger": logger, "message": message}
        if isinstance(fields, dict):
            data.update(fields)
        return data

    def line(self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The line `format` gives a record of these, without one."""
        return ENCODER.encode(self._data(created, level, logger, message, fields))

    def format(self, record: logging.LogRecord) -> str:
        data = self._data(
            record.created, record.levelname.lower(), record.name, record.getMessage(), getattr(record, "fields", None)
        )
        if record.exc_info and record.exc_info[0] is not None:
            data["exc_type"] = record.exc_info[0].__name__
            data["exc_message"] = str(record.exc_info[1])
            data["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return ENCODER.encode(data)


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """JSON lines on standard error. The request log writes its line here directly (`write_line`): the
    same bytes as through a record, without the machinery of one (a record, its handlers, filters)."""

    def __init__(self) -> None:
        super().__init__()
        self.formatter: JsonFormatter = JsonFormatter()

    def write_line(self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> None:
        line = self.formatter.line(created, level, logger, message, fields)
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
            self.stream.flush()


def _json_handlers(logger: logging.Logger) -> list[JsonHandler] | None:
    """The handlers an INFO record of `logger` would reach, if each is a plain `JsonHandler` (no filters,
    no level above INFO, on loggers without filters); None if any is not, so the record goes the usual way."""
    found: list[JsonHandler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if type(handler) is not JsonHandler or handler.filters or handler.level > logging.INFO:
                return None
            found.append(handler)
        if not current.propagate:
            break
        current = current.parent
    return found


def log_request(fields: dict[str, Any]) -> None:
    """One request's line in the `lisens.http` log (INFO `request`): the line itself when every handler is
    a plain `JsonHandler` (the server's own set-up), else a record as any other."""
    if not LOGGER.isEnabledFor(logging.INFO):
        return
    handlers = _json_handlers(LOGGER)
    if handlers is None:
        LOGGER.info("request", extra={"fields": fields})
        return
    created = time.time()
    for handler in handlers:
        handler.write_line(created, "info", LOGGER.name, "request", fields)


def configure_logging(level: str = "INFO") -> None:
    # Every request is logged: records skip what no line of ours prints (the logging HOWTO's "Optimization").
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller's file and line looked up: no line prints them
    handler = JsonHandler()
    for name in ("lisens", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # our access log carries the request id


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lisens_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "lisens_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency (each series' children looked up once)."""
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        found[0].inc()
        found[1].observe(seconds)


class RequestMiddleware:
    """Gives every request an id (X-Request-ID, echoed back), logs it as JSON, counts it, limits its body,
    and answers an unexpected error with a problem+json 500, logged with its traceback (the connection is
    answered, never dropped)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            status = 413
            await self._too_large(scope, send, request_id)
            self._log(scope, status, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
                version = scope.get("state", {}).get(VERSION_STATE)
                if version is not None:  # a write's tenant version, for reads that must include it
                    message["headers"].append((VERSION_HEADER_BYTES, str(version).encode()))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            status = 413
            await self._too_large(scope, send, request_id)
        except Exception as error:
            log_unexpected(error, method=scope.get("method", ""), path=scope.get("path", ""), request_id=request_id)
            if started_response:
                raise  # half an answer is out: nothing can be said any more but that it failed
            status = 500
            await internal_error(scope.get("path", ""))(scope, receive, send_with_id)
        finally:
            self._log(scope, status, started, request_id)

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        body = json.dumps(
            {
                "type": f"urn:lisens:error:{Code.PAYLOAD_TOO_LARGE}",
                "title": "Request Entity Too Large",
                "status": Code.PAYLOAD_TOO_LARGE.status,
                "detail": f"request body larger than {self.max_body} bytes",
                "instance": scope.get("path", ""),
                "code": Code.PAYLOAD_TOO_LARGE,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.observe(method, template, status, elapsed)
        principal = getattr(scope.get("state", {}).get("principal"), "actor", None)
        log_request(
            {
                "request_id": request_id,
                "method": method,
                "path": scope.get("path"),
                "status": status,
                "ms": round(elapsed * 1000, 3),
                "principal": principal,
            }
        )


class BodyTooLarge(Exception):
    pass
