"""The JSON log's lines and the request metrics."""

from __future__ import annotations

import json
import logging
import time

import pytest

from lisens.api.observability import JsonFormatter, Metrics


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
