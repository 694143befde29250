"""The check's lane: it answers a check exactly as the route does, and passes everything else on untouched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from lisens.api.app import create_app
from lisens.api.lane import CheckLane
from lisens.settings import Settings
from tests.api.conftest import Api

CHECK = "/v1/tenants/acme/check"


@pytest.fixture
def route_only(committed_api: Api) -> Iterator[TestClient]:
    """The same database served by an app without the lane: every check goes through the framework's route."""
    app = create_app(Settings(database_url=committed_api.database.url), engine=committed_api.database.engine)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CheckLane]
    with TestClient(app) as client:
        yield client


def _answer(
    client: TestClient, body: Any, headers: dict[str, str], *, raw: bool = False
) -> tuple[int, bytes, dict[str, str]]:
    if raw:
        response = client.post(CHECK, content=body, headers=headers)
    else:
        response = client.post(CHECK, json=body, headers=headers)
    kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, response.content, kept


ASKED: list[Any] = [
    {"users": ["alice"], "licenses": ["superoffice.quote-cal"]},
    {"users": ["alice", "bob", "nobody"], "licenses": ["quote-cal", "SALE", "no-such", "superoffice.ej-client"]},
    {"users": ["alice"], "licenses": ["quote-cal"], "explain": True},
    {"users": ["alice"], "licenses": ["quote-cal"], "at": "2026-04-01T00:00:00Z"},
    {"users": ["alice"], "licenses": ["quote-cal"], "min_version": 1},
    {"users": ["alice"], "licenses": ["quote-cal"], "min_version": 10**9},  # VERSION_NOT_REACHED
    {"users": ["alice"] * 10_001, "licenses": ["quote-cal"]},  # too many users
    {"users": [], "licenses": ["quote-cal"]},
    {"users": ["alice"], "licenses": ["quote-cal"], "surplus": 1},
    {"users": "alice", "licenses": ["quote-cal"]},
    {"users": ["alice"], "licenses": ["quote-cal"], "at": "yesterday"},
    [1, 2],
]


@pytest.mark.parametrize("body", ASKED, ids=range(len(ASKED)))
def test_a_check_through_the_lane_is_answered_byte_for_byte_as_the_route_answers_it(
    committed_api: Api, route_only: TestClient, body: Any
) -> None:
    headers = committed_api.headers("acme-app")
    through_lane = _answer(committed_api.client, body, headers)
    through_route = _answer(route_only, body, headers)
    assert through_lane == through_route
    assert through_lane[0] in (200, 409, 413, 422)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"", {}),
        (b"{not json", {}),
        (b'{"users": ["alice"], "licenses": ["quote-cal"]}', {"content-type": "text/plain"}),
        (b'\xef\xbb\xbf{"users": ["alice"], "licenses": ["quote-cal"]}', {"content-type": "application/json"}),
    ],
    ids=["empty", "malformed", "not-json", "bom"],
)
def test_a_body_the_lane_does_not_take_is_answered_by_the_route_as_before(
    committed_api: Api, route_only: TestClient, body: bytes, headers: dict[str, str]
) -> None:
    sent = {**committed_api.headers("acme-app"), **headers}
    assert _answer(committed_api.client, body, sent, raw=True) == _answer(route_only, body, sent, raw=True)


@pytest.mark.parametrize(
    ("who", "tenant"), [(None, "acme"), ("globex-app", "acme"), ("vendor", "no-such-tenant"), ("bad", "acme")]
)
def test_refusals_through_the_lane_are_the_routes_refusals(
    committed_api: Api, route_only: TestClient, who: str | None, tenant: str
) -> None:
    headers = {} if who is None else (committed_api.headers(who) if who != "bad" else {"Authorization": "Bearer x"})
    body = {"users": ["alice"], "licenses": ["quote-cal"]}
    path = f"/v1/tenants/{tenant}/check"
    lane = committed_api.client.post(path, json=body, headers=headers)
    route = route_only.post(path, json=body, headers=headers)
    assert (lane.status_code, lane.json()) == (route.status_code, route.json())
    assert lane.status_code in (401, 403, 404)
    assert lane.headers.get("www-authenticate") == route.headers.get("www-authenticate")


def test_a_check_through_the_lane_is_logged_and_counted_under_the_routes_template(committed_api: Api) -> None:
    client = committed_api.client
    before = _count(client.get("/metrics").text)
    answered = client.post(
        CHECK, json={"users": ["alice"], "licenses": ["quote-cal"]}, headers=committed_api.headers("acme-app")
    )
    assert answered.status_code == 200
    assert answered.headers["x-request-id"]
    assert answered.headers["content-security-policy"].startswith("default-src 'none'")
    assert _count(client.get("/metrics").text) == before + 1


def _count(metrics: str) -> float:
    for line in metrics.splitlines():
        if (
            line.startswith("lisens_http_requests_total{")
            and 'route="/v1/tenants/{tenant}/check"' in line
            and ('status="200"' in line)
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class _Inner:
    """An app behind the lane that records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])
        if scope["type"] == "http" and scope["method"] == "POST":
            message = await receive()
            self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/tenants/acme/check", b""),
        ("POST", "/v1/tenants/acme/users", b'{"name": "x"}'),
        ("POST", "/v1/tenants/acme/check/more", b"{}"),
        ("POST", "/v1/tenants/acme/check", b'{"users": 1}'),
    ],
)
def test_the_lane_passes_every_request_it_does_not_answer_on_with_its_body_as_sent(
    method: str, path: str, body: bytes
) -> None:
    import anyio

    inner = _Inner()
    lane = CheckLane(inner)
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(lane, scope, receive, send)
    assert inner.paths == [path]
    assert inner.bodies == ([body] if method == "POST" else [])
    assert sent[0]["status"] == 204
