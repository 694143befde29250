"""Hostile input against the real API on SQLite and PostgreSQL: always a 4xx with a code naming the bad
value, never a 5xx or a change; unexpected errors answered with a 500 and logged with their traceback."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from lisens.api.inputs import MAX_DEPTH
from lisens.api.observability import JsonFormatter
from lisens.api.problems import PROBLEM_JSON
from lisens.service import tenants
from tests.api.conftest import Api

DEEP = "[" * 100_000 + "]" * 100_000


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the answer it must get."""

    name: str
    method: str
    path: str
    status: int
    code: str
    location: str | None = None
    json: Any = None
    raw: bytes | str | None = None
    params: dict[str, str] = field(default_factory=dict)
    who: str = "vendor"
    form: bool = False


CASES = [
    # NUL: PostgreSQL cannot store it (it answered 503 DataError).
    Hostile("nul-in-tenant-name", "POST", "/v1/tenants", 422, "INVALID_TEXT", "body.name",
            json={"name": "evil\u0000corp", "generation": "11"}),
    Hostile("nul-in-company", "POST", "/v1/tenants", 422, "INVALID_TEXT", "body.company",
            json={"name": "evilcorp", "generation": "11", "company": "Evil\u0000 AS"}),
    Hostile("nul-in-user-name", "POST", "/v1/tenants/acme/users", 422, "INVALID_TEXT", "body.name",
            json={"name": "mallory\u0000"}),
    Hostile("nul-in-a-list", "POST", "/v1/tenants/acme/check", 422, "INVALID_TEXT", "body.users.1",
            json={"users": ["alice", "\u0000"], "licenses": ["sale-cal"]}),
    Hostile("nul-in-a-key", "POST", "/v1/tenants/acme/users", 422, "INVALID_TEXT", "body.a\\x00",
            json={"name": "x", "a\u0000": 1}),
    Hostile("nul-in-path", "GET", "/v1/tenants/ac%00me", 422, "INVALID_TEXT", "path"),
    Hostile("nul-in-query", "GET", "/v1/tenants/acme/audit", 422, "INVALID_TEXT", "query.user",
            params={"user": "al\u0000ice"}),
    Hostile("nul-in-agent-parameter", "POST", "/api/v1/Agents/License/ChangeSerialNumber", 422, "INVALID_TEXT",
            "body.newSerialNumber", json={"newSerialNumber": "1\u00002"}, who="acme-admin"),
    Hostile("nul-in-panel-form", "POST", "/admin/login", 422, "INVALID_TEXT", "form.token",
            raw="token=a%00b", form=True),
    # Lone surrogates: not UTF-8, so neither storable nor answerable (they answered 500 UnicodeEncodeError).
    Hostile("surrogate-in-tenant-name", "POST", "/v1/tenants", 422, "INVALID_TEXT", "body.name",
            raw='{"name": "\\ud800", "generation": "11"}'),
    Hostile("low-surrogate-alone", "POST", "/v1/tenants/acme/owners", 422, "INVALID_TEXT", "body.description",
            raw='{"name": "EVIL", "description": "x\\udc00y"}'),
    Hostile("surrogates-reversed", "POST", "/v1/tenants/acme/users", 422, "INVALID_TEXT", "body.name",
            raw='{"name": "\\ude00\\ud83d"}'),
    Hostile("surrogate-as-raw-bytes", "POST", "/v1/tenants/acme/users", 422, "INVALID_TEXT", "body",
            raw=b'{"name": "\xed\xa0\x80"}'),
    Hostile("surrogate-in-check", "POST", "/v1/tenants/acme/check", 422, "INVALID_TEXT", "body.licenses.0",
            raw='{"users": ["alice"], "licenses": ["\\udbff"]}', who="acme-app"),
    # Times at the edge of the calendar overflowed the billing and expiry arithmetic (500).
    Hostile("check-at-year-9999", "POST", "/v1/tenants/acme/check", 422, "INVALID_TIME", "body.at",
            json={"users": ["alice"], "licenses": ["sale-cal"], "at": "9999-12-31T23:59:59Z"}),
    Hostile("subscription-starting-9999", "POST", "/v1/tenants/acme/subscription", 422, "INVALID_TIME", "body.start",
            json={"start": "9999-12-31", "period": 12}),
    Hostile("subscription-starting-year-1", "POST", "/v1/tenants/acme/subscription", 422, "INVALID_TIME",
            "body.start", json={"start": "0001-01-01", "period": 1}),
    Hostile("offset-beyond-the-calendar", "POST", "/v1/tenants/acme/users", 422, "INVALID_TIME", "body.at",
            json={"name": "zoe", "at": "9999-12-31T23:00:00-14:00"}),
    Hostile("audit-at-year-9999", "GET", "/v1/tenants/acme/audit", 422, "INVALID_TIME", "query.at",
            params={"at": "9999-12-31T23:59:59Z"}),
    Hostile("invoices-from-year-1", "GET", "/v1/tenants/acme/invoices", 422, "INVALID_TIME", "query.from",
            params={"from": "0001-01-01", "to": "2026-01-01"}),
    # Deep nesting: refused before any parser or validator recurses (500 RecursionError).
    Hostile("deep-body", "POST", "/v1/tenants", 422, "JSON_TOO_DEEP", "body", raw=DEEP),
    Hostile("deep-field", "POST", "/v1/tenants/acme/packages/activate", 422, "JSON_TOO_DEEP", "body",
            raw='{"package": {"a": ' + DEEP + "}}"),
    Hostile("just-too-deep", "POST", "/v1/tenants/acme/packages/activate", 422, "JSON_TOO_DEEP",
            "body.package.a" + ".0" * (MAX_DEPTH - 2),
            raw='{"package": {"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}}"),
    Hostile("deep-but-within-the-limit", "POST", "/v1/tenants/acme/packages/activate", 422, "PACKAGE_MALFORMED",
            raw='{"package": {"a": ' + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "}}"),
    Hostile("deep-agent-body", "POST", "/api/v1/Agents/License/AddLicenseFromFile", 422, "JSON_TOO_DEEP", "body",
            raw='{"FileContent": ' + DEEP + "}", who="acme-admin"),
    Hostile("deep-license-file", "POST", "/api/v1/Agents/License/AddLicenseFromFile", 422, "PACKAGE_MALFORMED",
            json={"FileContent": DEEP}, who="acme-admin"),
    Hostile("deep-license-file-rest", "POST", "/api/v1/License", 422, "PACKAGE_MALFORMED",
            json=DEEP, who="acme-admin"),
    # NaN and Infinity are not JSON (500 while encoding the 422 that echoed them).
    Hostile("nan", "PUT", "/v1/tenants/acme/seats/sales-premium", 422, "INVALID_NUMBER", "body.number",
            raw='{"number": NaN}'),
    Hostile("infinity", "PUT", "/v1/tenants/acme/usage/users", 422, "INVALID_NUMBER", "body.count",
            raw='{"count": Infinity}'),
    Hostile("minus-infinity-in-a-list", "POST", "/v1/tenants/acme/users/bob/assignments", 422, "INVALID_NUMBER",
            "body.plans.0", raw='{"plans": [-Infinity]}'),
    Hostile("overflowing-float", "POST", "/v1/tenants/acme/check", 422, "INVALID_NUMBER", "body.at",
            raw='{"users": ["alice"], "licenses": ["sale-cal"], "at": 1e999}'),
    Hostile("giant-integer", "PUT", "/v1/tenants/acme/seats/sales-premium", 422, "INVALID_NUMBER", "body",
            raw='{"number": ' + "9" * 5000 + "}"),
    Hostile("nan-in-license-file", "POST", "/api/v1/Agents/License/AddLicenseFromFile", 422, "PACKAGE_MALFORMED",
            json={"FileContent": '{"format": NaN}'}, who="acme-admin"),
    # Huge strings: refused by the schemas' lengths, never by the database.
    Hostile("huge-tenant-name", "POST", "/v1/tenants", 422, "INVALID_REQUEST", "body.name",
            json={"name": "x" * 1_000_000, "generation": "11"}),
]  # fmt: skip


def send(api: Api, case: Hostile) -> Any:
    headers = api.headers(case.who) if case.who else {}
    if case.form:
        headers["content-type"] = "application/x-www-form-urlencoded"
        return api.client.request(case.method, case.path, headers=headers, content=case.raw)
    if case.raw is not None:
        headers["content-type"] = "application/json"
        return api.client.request(case.method, case.path, headers=headers, content=case.raw, params=case.params)
    if case.json is not None:
        headers["content-type"] = "application/json"
        body = json.dumps(case.json)
        return api.client.request(case.method, case.path, headers=headers, content=body, params=case.params)
    return api.client.request(case.method, case.path, headers=headers, params=case.params)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_gets_a_4xx_with_a_code_naming_the_bad_value(api: Api, case: Hostile) -> None:
    before = api.client.get("/v1/tenants/acme/audit", headers=api.headers("vendor")).json()
    response = send(api, case)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == case.code, problem
    assert problem["status"] == case.status
    if case.location is not None:
        found = problem.get("location") or problem["errors"][0]["location"]
        assert found == case.location, problem
        assert case.location in problem["detail"]
    # Nothing was changed.
    assert api.client.get("/v1/tenants/acme/audit", headers=api.headers("vendor")).json() == before
    names = {t["name"] for t in api.client.get("/v1/tenants", headers=api.headers("vendor")).json()}
    assert names <= {"acme", "globex", "initech", "raced", "emoji-and-escapes"}


def test_text_that_only_looks_hostile_is_accepted_and_kept_as_sent(api: Api) -> None:
    vendor = api.headers("vendor")
    # A surrogate pair (an emoji), an escaped backslash before "u0000", and text with "%00" in it are fine.
    raw = '{"name": "emoji-and-escapes", "generation": "11", "company": "Smile \\ud83d\\ude00 \\\\u0000 AS"}'
    created = api.client.post("/v1/tenants", headers={**vendor, "content-type": "application/json"}, content=raw)
    assert created.status_code == 201, created.text
    assert created.json()["company"] == "Smile \U0001f600 \\u0000 AS"
    unknown = api.client.get("/v1/tenants/emoji-and-escapes/audit", headers=vendor, params={"user": "100%00"})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["code"] == "UNKNOWN_USER"
    assert "'100%00'" in unknown.json()["detail"]


def test_twenty_concurrent_creates_of_one_tenant_give_one_201_and_nineteen_409(committed_api: Api) -> None:
    api = committed_api  # other connections must see its changes
    racers = 20
    start = threading.Barrier(racers)

    def create(_: int) -> tuple[int, str | None]:
        start.wait()
        response = api.client.post(
            "/v1/tenants", headers=api.headers("vendor"), json={"name": "raced", "generation": "11"}
        )
        return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = Counter(pool.map(create, range(racers)))
    assert results == {(201, None): 1, (409, "TENANT_EXISTS"): racers - 1}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the JSON log of `lisens.http` writes during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("lisens.http")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_an_unexpected_error_is_answered_500_and_logged_with_its_traceback(
    api: Api, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the secret internals of a bug")

    monkeypatch.setattr(tenants, "list_tenants", broken)
    response = api.client.get("/v1/tenants", headers={**api.headers("vendor"), "X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["x-request-id"] == "req-boom"
    assert response.json()["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    error = next(entry for entry in logged if entry["message"] == "unexpected error")
    assert error["level"] == "error"
    assert error["request_id"] == "req-boom"
    assert error["path"] == "/v1/tenants"
    assert error["exc_type"] == "RuntimeError"
    assert "RuntimeError: the secret internals of a bug" in error["traceback"]
    assert "in broken" in error["traceback"]
    access = next(entry for entry in logged if entry["message"] == "request")
    assert access["status"] == 500


def test_the_json_log_formatter_keeps_the_traceback_of_a_logged_exception() -> None:
    try:
        {}["missing"]
    except KeyError:
        record = logging.getLogger("lisens.test").makeRecord(
            "lisens.test", logging.ERROR, __file__, 1, "failed", None, exc_info=__import__("sys").exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed"
    assert line["exc_type"] == "KeyError"
    assert line["traceback"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in line["traceback"]


def test_a_log_line_stays_printable_whatever_text_it_carries() -> None:
    record = logging.getLogger("lisens.test").makeRecord(
        "lisens.test", logging.INFO, __file__, 1, "request", None, None, extra={"fields": {"path": "/a\ud800\x00"}}
    )
    line = JsonFormatter().format(record)
    line.encode("ascii")
    assert json.loads(line)["path"] == "/a\ud800\x00"
