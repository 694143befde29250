"""The JSON log's lines and the request metrics."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest

from lisens.api.observability import JsonFormatter, JsonHandler, Metrics, log_request


def _record(created: float) -> logging.LogRecord:
    record = logging.getLogger("lisens.test").makeRecord(
        "lisens.test", logging.INFO, __file__, 1, "request", None, None
    )
    record.created = created
    return record


def test_a_log_line_carries_its_records_second_in_iso_8601_with_the_offset() -> None:
    formatter = JsonFormatter()
    first, same, next_second = _record(1_790_000_000.1), _record(1_790_000_000.9), _record(1_790_000_001.0)
    expected = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(1_790_000_000))
    assert json.loads(formatter.format(first))["time"] == expected
    assert json.loads(formatter.format(same))["time"] == expected
    later = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(1_790_000_001))
    assert json.loads(formatter.format(next_second))["time"] == later
    assert json.loads(formatter.format(first))["time"] == expected  # an older record after a newer one


def test_requests_are_counted_per_method_route_and_status_with_their_latency() -> None:
    metrics = Metrics()
    metrics.observe("POST", "/v1/tenants/{tenant}/check", 200, 0.001)
    metrics.observe("POST", "/v1/tenants/{tenant}/check", 200, 0.003)
    metrics.observe("POST", "/v1/tenants/{tenant}/check", 409, 0.002)
    sample = metrics.registry.get_sample_value
    route = {"method": "POST", "route": "/v1/tenants/{tenant}/check"}
    assert sample("lisens_http_requests_total", {**route, "status": "200"}) == 2
    assert sample("lisens_http_requests_total", {**route, "status": "409"}) == 1
    assert sample("lisens_http_request_seconds_count", route) == 3
    assert sample("lisens_http_request_seconds_sum", route) == pytest.approx(0.006)


@pytest.fixture(autouse=True)
def _http_logger_restored() -> Iterator[None]:
    logger = logging.getLogger("lisens.http")
    level, propagate = logger.level, logger.propagate
    yield
    logger.setLevel(level)  # setLevel, so that the logger's cache of enabled levels is cleared too
    logger.propagate = propagate


def _handler_on(logger: logging.Logger, stream: io.StringIO) -> JsonHandler:
    handler = JsonHandler()
    handler.setStream(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


FIELDS = {"request_id": "r1", "method": "POST", "path": "/v1/x\ud800", "status": 200, "ms": 1.5, "principal": None}


def test_a_request_line_written_directly_is_the_line_a_record_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("lisens.http")
    logger.propagate = False
    handler = _handler_on(logger, stream)
    try:
        monkeypatch.setattr(time, "time", lambda: 1_790_000_000.25)
        log_request(FIELDS)
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 1, "request", None, None, extra={"fields": FIELDS}
        )
        record.created = 1_790_000_000.25
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == JsonFormatter().format(record) + "\n"
    assert json.loads(stream.getvalue())["path"] == "/v1/x\ud800"


def test_a_request_line_goes_through_a_record_when_a_handler_or_logger_filters() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("lisens.http")
    logger.propagate = False
    handler = _handler_on(logger, stream)
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return getattr(record, "fields", {}).get("status") != 500

    handler.addFilter(keep)
    try:
        log_request(FIELDS)
        log_request({**FIELDS, "status": 500})
    finally:
        logger.removeHandler(handler)
    assert len(seen) == 2  # the filter saw both records
    assert [json.loads(line)["status"] for line in stream.getvalue().splitlines()] == [200]


def test_no_request_line_is_written_when_the_log_is_above_info() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("lisens.http")
    logger.propagate = False
    handler = _handler_on(logger, stream)
    logger.setLevel(logging.WARNING)
    try:
        log_request(FIELDS)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == ""
