"""/v1 events (JSON pages and Server-Sent Events) and /v1 webhooks, with who may reach what."""

from __future__ import annotations

import json

import anyio

from lisens.api.feed import LogWatch
from lisens.api.responses import EventRead, LogHeads
from tests.api.conftest import Api


def _sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            if name in ("id", "event", "data"):
                fields[name] = value.strip()
        if "data" in fields:
            events.append(fields)
    return events


def test_a_tenants_events_are_its_log_in_sequence_order_a_page_at_a_time(api: Api) -> None:
    answer = api.client.get("/v1/tenants/acme/events?limit=3", headers=api.headers("acme-app"))
    assert answer.status_code == 200
    page = answer.json()
    assert [e["seq"] for e in page] == [1, 2, 3]
    assert page[0]["type"] == "tenant.created"
    assert page[0]["id"] == "acme:1"
    assert 'rel="next"' in answer.headers["link"]
    rest = api.client.get("/v1/tenants/acme/events?after=3", headers=api.headers("acme-app")).json()
    assert rest[0]["seq"] == 4
    assert {"user.created", "assignment.created"} <= {e["type"] for e in rest}


def test_an_app_token_follows_its_own_tenant_only(api: Api) -> None:
    assert api.client.get("/v1/tenants/globex/events", headers=api.headers("acme-app")).status_code == 404
    assert api.client.get("/v1/events", headers=api.headers("acme-app")).status_code == 403
    assert api.client.get("/v1/events", headers=api.headers("acme-admin")).status_code == 403


def test_the_vendor_follows_every_tenant(api: Api) -> None:
    found = api.client.get("/v1/events?limit=1000", headers=api.headers("vendor")).json()
    assert {e["tenant"] for e in found} == {"acme", "globex"}
    cursors = [e["cursor"] for e in found]
    assert cursors == sorted(cursors)


def test_events_stream_as_server_sent_events_and_resume_after_the_last_event_id(api: Api) -> None:
    headers = {**api.headers("acme-admin"), "Accept": "text/event-stream"}
    with api.client.stream("GET", "/v1/tenants/acme/events?wait=0", headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = _sse(answer.read().decode())
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "tenant.created"
    assert json.loads(events[0]["data"])["seq"] == 1
    resumed = {**headers, "Last-Event-ID": events[-2]["id"]}
    with api.client.stream("GET", "/v1/tenants/acme/events?wait=0", headers=resumed) as answer:
        again = _sse(answer.read().decode())
    assert [e["id"] for e in again] == [events[-1]["id"]]


def test_a_tenant_admin_manages_its_own_webhooks_and_only_the_vendor_all_tenant_ones(api: Api) -> None:
    body = {"url": "https://example.com/hook", "event_types": ["assignment.*"]}
    made = api.client.post("/v1/tenants/acme/webhooks", json=body, headers=api.headers("acme-admin"))
    assert made.status_code == 201
    assert made.json()["secret"].startswith("whsec_")
    hook = made.json()["id"]
    listed = api.client.get("/v1/tenants/acme/webhooks", headers=api.headers("acme-admin")).json()
    assert [w["id"] for w in listed] == [hook]
    assert listed[0]["secret"] is None
    assert api.client.post("/v1/webhooks", json=body, headers=api.headers("acme-admin")).status_code == 403
    assert api.client.post("/v1/tenants/acme/webhooks", json=body, headers=api.headers("acme-app")).status_code == 403
    assert (
        api.client.get(
            f"/v1/tenants/globex/webhooks/{hook}/deliveries", headers=api.headers("globex-admin")
        ).status_code
        == 404
    )
    off = api.client.patch(
        f"/v1/tenants/acme/webhooks/{hook}", json={"enabled": False}, headers=api.headers("acme-admin")
    )
    assert off.json()["enabled"] is False
    replay = api.client.post(
        f"/v1/tenants/acme/webhooks/{hook}/replay", json={"from": 1}, headers=api.headers("acme-admin")
    )
    assert replay.json() == {"webhook": hook, "from": 1, "streams": 1}
    assert api.client.get(f"/v1/webhooks/{hook}/deliveries", headers=api.headers("vendor")).json() == []
    assert api.client.delete(f"/v1/tenants/acme/webhooks/{hook}", headers=api.headers("acme-admin")).status_code == 200
    assert api.client.get("/v1/webhooks", headers=api.headers("vendor")).json() == []


def test_a_webhook_with_a_bad_url_or_an_unknown_event_type_is_refused(api: Api) -> None:
    for body in ({"url": "ftp://example.com"}, {"url": "https://example.com", "event_types": ["nope.never"]}):
        answer = api.client.post("/v1/webhooks", json=body, headers=api.headers("vendor"))
        assert answer.status_code == 422
        assert answer.json()["code"] == "INVALID_WEBHOOK"


def test_webhook_changes_over_http_are_in_the_tenant_log_or_the_vendor_log(api: Api) -> None:
    def logged() -> list[tuple[str, str]]:
        entries = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("vendor")).json()
        return [(e["action"], e["actor"]) for e in entries if e["action"].startswith("webhook.")]

    def vendor_entries() -> int:
        return int(api.client.get("/v1/audit/verify", headers=api.headers("vendor")).json()["entries"])

    body = {"url": "https://example.com/hook?key=s3cret"}
    made = api.client.post("/v1/tenants/acme/webhooks", json=body, headers=api.headers("acme-admin")).json()
    hook = made["id"]
    api.client.patch(f"/v1/tenants/acme/webhooks/{hook}", json={"enabled": False}, headers=api.headers("acme-admin"))
    api.client.delete(f"/v1/tenants/acme/webhooks/{hook}", headers=api.headers("acme-admin"))
    actions = [action for action, _ in logged()]
    assert actions == ["webhook.create", "webhook.disable", "webhook.remove"]
    assert all(actor.endswith(":admin:acme") for _, actor in logged())
    page = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("vendor")).text
    assert made["secret"] not in page
    assert "s3cret" not in page
    before = vendor_entries()
    vendors = api.client.post("/v1/webhooks", json={"url": "https://example.com/all"}, headers=api.headers("vendor"))
    api.client.delete(f"/v1/webhooks/{vendors.json()['id']}", headers=api.headers("vendor"))
    assert vendor_entries() == before + 2
    assert [action for action, _ in logged()] == actions


def test_many_idle_streams_share_one_look_at_the_logs_and_wake_when_theirs_moves() -> None:
    head = {"acme": 5}
    looks: list[list[str]] = []

    def look(tenants: list[str]) -> LogHeads:
        looks.append(tenants)
        return LogHeads(tenants={t: head[t] for t in tenants if t in head}, last_id=head["acme"])

    watch = LogWatch(look, poll=0.01)
    woke: list[int] = []

    async def follower(n: int) -> None:
        await watch.wait("acme", 5, timeout=5)
        woke.append(n)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for n in range(50):
                group.start_soon(follower, n)
            await anyio.sleep(0.2)
            assert woke == []  # nothing moved: every stream still waits
            head["acme"] = 6

    anyio.run(main)
    assert sorted(woke) == list(range(50))
    assert 0 < len(looks) < 100  # about one look per interval, not one per stream
    assert looks[-1] == ["acme"]


def test_streams_at_the_same_place_share_one_fetch() -> None:
    calls: list[int] = []

    def fetch(cursor: int) -> list[EventRead]:
        calls.append(cursor)
        return []

    watch = LogWatch(lambda tenants: LogHeads(tenants={}, last_id=0))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(watch.fetch, "acme", 7, 100, fetch)

    anyio.run(main)
    assert calls == [7]
