"""Webhook deliveries to a real HTTP receiver: signed, in sequence order per endpoint, retried, replayed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lisens.db.engine import make_session_factory
from lisens.db.repositories import AuditRepository
from lisens.domain.errors import LisensError
from lisens.service import audit, tenants, users, webhooks
from lisens.service.context import Context
from lisens.service.uow import unit_of_work
from lisens.service.worker import Worker
from tests.db.conftest import Database

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Receiver:
    """A tiny HTTP endpoint in a thread: records each request; answers `fail` with 500 while set."""

    port: int
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append((headers, body))
                status = 500 if json.loads(body)["type"] in receiver.fail else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.allow_reuse_address = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[tuple[str, int]]:
        """(type, seq) of each distinct message in the order first received."""
        seen: dict[str, tuple[str, int]] = {}
        for headers, body in self.received:
            data = json.loads(body)
            seen.setdefault(headers["webhook-id"], (data["type"], data["data"]["seq"]))
        return list(seen.values())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(free_port())
    made.start()
    yield made
    if made.server is not None:
        made.stop()


@dataclass
class Setup:
    clock: Clock
    database: Database

    def unit(self) -> AbstractContextManager[Context]:
        return unit_of_work(
            make_session_factory(self.database.engine), actor="test", catalog_dir=None, clock=self.clock
        )

    def worker(self, **kwargs: Any) -> Worker:
        return Worker(unit=self.unit, **kwargs)


@pytest.fixture
def setup(fresh_database: Database) -> Setup:
    made = Setup(Clock(), fresh_database)
    with made.unit() as ctx:
        tenants.create_tenant(ctx, name="acme", generation="11")
        tenants.set_seats(ctx, "acme", "sales-premium", 50)
    return made


def _signed_correctly(secret: str, receiver: Receiver) -> bool:
    for headers, body in receiver.received:
        moment = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
        if headers["webhook-signature"] != webhooks.sign(secret, headers["webhook-id"], moment, body):
            return False
    return True


def test_each_change_reaches_the_endpoint_signed_and_in_sequence_order(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        hook = webhooks.add_webhook(ctx, "acme", receiver.url)
    with setup.unit() as ctx:
        for name in ("ann", "bob", "cid"):
            users.add_user(ctx, "acme", name)
            users.assign(ctx, "acme", name, plans=["sales-premium"])
    setup.worker().run_once()
    assert receiver.delivered() == [
        ("user.created", 4),
        ("assignment.created", 5),
        ("user.created", 6),
        ("assignment.created", 7),
        ("user.created", 8),
        ("assignment.created", 9),
    ]
    assert _signed_correctly(hook.secret, receiver)
    headers, body = receiver.received[1]
    event = json.loads(body)["data"]
    assert headers["webhook-id"].endswith("_5")
    assert event["user"] == "ann"
    assert event["after"]["plan"] == "sales-premium"
    assert event["before"]["plan"] is None


def test_an_endpoint_down_mid_stream_loses_nothing_and_keeps_the_order(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url, event_types=["user.*"])
    with setup.unit() as ctx:
        users.add_user(ctx, "acme", "u1")
    worker = setup.worker()
    worker.run_once()
    receiver.stop()  # the endpoint goes away in the middle of the stream
    with setup.unit() as ctx:
        for n in range(2, 6):
            users.add_user(ctx, "acme", f"u{n}")
    worker.run_once()
    worker.run_once()
    with setup.unit() as ctx:
        pending = webhooks.list_deliveries(ctx, "acme", 1, state="pending")
    assert [(d.seq, d.attempts) for d in pending] == [(8, 0), (7, 0), (6, 0), (5, 1)]
    assert "Connection" in pending[-1].last_error or "refused" in pending[-1].last_error
    receiver.start()
    setup.clock.advance(seconds=5)
    worker.run_once()
    assert [seq for _, seq in receiver.delivered()] == [4, 5, 6, 7, 8]


def test_a_failing_event_holds_back_the_later_ones_until_it_is_delivered(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url)
        users.add_user(ctx, "acme", "ann")
    receiver.fail.add("user.created")
    with setup.unit() as ctx:
        users.assign(ctx, "acme", "ann", plans=["sales-premium"])
    worker = setup.worker()
    worker.run_once()
    worker.run_once()
    assert receiver.delivered() == [("user.created", 4)]
    receiver.fail.clear()
    setup.clock.advance(seconds=10)
    worker.run_once()
    assert receiver.delivered() == [("user.created", 4), ("assignment.created", 5)]
    ids = [h["webhook-id"] for h, _ in receiver.received]
    assert ids[0] == ids[1] != ids[2]  # the retry kept its id


def test_a_delivery_that_fails_for_a_day_is_dead_and_the_stream_moves_on(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url)
        users.add_user(ctx, "acme", "ann")
        users.add_user(ctx, "acme", "bob")
    receiver.fail.add("user.created")
    worker = setup.worker()
    for _ in range(60):
        worker.run_once()
        setup.clock.advance(hours=1)
    with setup.unit() as ctx:
        dead = webhooks.list_deliveries(ctx, "acme", 1, state="dead")
    assert [d.seq for d in dead] == [5, 4]
    assert all(d.attempts >= 24 and d.last_status == 500 for d in dead)


def test_a_worker_that_dies_while_sending_is_replaced_and_the_delivery_keeps_its_id(
    setup: Setup, receiver: Receiver
) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url)
        users.add_user(ctx, "acme", "ann")
    with setup.unit() as ctx:
        webhooks.materialize(ctx)
    with setup.unit() as ctx:
        (jobs,) = webhooks.claim(ctx, lease=timedelta(seconds=30))  # claimed, then the process is killed
    assert len(jobs) == 1
    worker = setup.worker()
    worker.run_once()
    assert receiver.received == []  # the lease holds: nobody sends it twice at once
    setup.clock.advance(seconds=31)
    worker.run_once()
    assert [h["webhook-id"] for h, _ in receiver.received] == [jobs[0].message_id]
    with setup.unit() as ctx:
        (delivery,) = webhooks.list_deliveries(ctx, "acme", 1)
    assert delivery.state == "delivered"
    assert delivery.attempts == 2


def test_replay_sends_again_from_a_sequence_number_with_the_same_ids(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url)
        for name in ("ann", "bob"):
            users.add_user(ctx, "acme", name)
    worker = setup.worker()
    worker.run_once()
    first = [h["webhook-id"] for h, _ in receiver.received]
    with setup.unit() as ctx:
        webhooks.replay(ctx, "acme", 1, from_seq=4)
    worker.run_once()
    assert [h["webhook-id"] for h, _ in receiver.received] == first + first
    with setup.unit() as ctx:
        assert [d.replay for d in webhooks.list_deliveries(ctx, "acme", 1)] == [True, True, False, False]


def test_a_vendor_endpoint_receives_every_tenant_and_a_disabled_one_waits(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        hook = webhooks.add_webhook(ctx, None, receiver.url, event_types=["tenant.created", "user.created"])
        tenants.create_tenant(ctx, name="globex", generation="7")
        users.add_user(ctx, "acme", "ann")
        webhooks.set_enabled(ctx, None, hook.id, enabled=False)
    worker = setup.worker()
    worker.run_once()
    assert receiver.received == []
    with setup.unit() as ctx:
        webhooks.set_enabled(ctx, None, hook.id, enabled=True)
    worker.run_once()
    tenants_seen = sorted((json.loads(b)["data"]["tenant"], json.loads(b)["type"]) for _, b in receiver.received)
    assert tenants_seen == [("acme", "user.created"), ("globex", "tenant.created")]


def test_two_workers_at_once_send_each_event_once(setup: Setup, receiver: Receiver) -> None:
    with setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", receiver.url)
        for n in range(12):
            users.add_user(ctx, "acme", f"u{n}")
    workers = [setup.worker(), setup.worker()]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for w in workers:
        w.run_once()
    ids = [h["webhook-id"] for h, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 12
    assert [seq for _, seq in receiver.delivered()] == list(range(4, 16))


def _log_of(setup: Setup, tenant: str | None) -> list[tuple[str, str, Any, Any]]:
    with setup.unit() as ctx:
        if tenant is None:
            rows = AuditRepository(ctx.session).vendor_entries()
            entries = [(r.action, r.subject, r.before, r.after) for r in rows]
        else:
            entries = [(e.action, e.subject, e.before, e.after) for e in audit.audit_log(ctx, tenant)]
        assert audit.verify_log(ctx, tenant).ok
    return [entry for entry in entries if entry[0].startswith("webhook.")]


def test_adding_disabling_and_removing_a_tenant_endpoint_is_in_the_tenant_log_without_its_secret(
    setup: Setup,
) -> None:
    url = "https://user:pw@crm.example.com:8443/hooks/lisens?token=abc#frag"
    with setup.unit() as ctx:
        hook = webhooks.add_webhook(ctx, "acme", url, event_types=["user.*"], description="crm")
    with setup.unit() as ctx:
        webhooks.set_enabled(ctx, "acme", hook.id, enabled=False)
        webhooks.set_enabled(ctx, "acme", hook.id, enabled=False)  # no change, nothing recorded
    with setup.unit() as ctx:
        webhooks.set_enabled(ctx, None, hook.id, enabled=True)
    with setup.unit() as ctx:
        webhooks.remove_webhook(ctx, "acme", hook.id)
    shown = {
        "id": hook.id,
        "url": "https://crm.example.com:8443/hooks/lisens",
        "event_types": ["user.*"],
        "description": "crm",
        "enabled": True,
    }
    hidden = {**shown, "enabled": False}
    subject = f"webhook {hook.id}"
    assert _log_of(setup, "acme") == [
        ("webhook.create", subject, None, shown),
        ("webhook.disable", subject, shown, hidden),
        ("webhook.enable", subject, hidden, shown),
        ("webhook.remove", subject, shown, None),
    ]
    assert _log_of(setup, None) == []
    with setup.unit() as ctx:
        written = json.dumps([e.model_dump() for e in audit.audit_log(ctx, "acme")])
    assert hook.secret is not None
    assert hook.secret not in written
    assert "pw" not in written
    assert "token=abc" not in written


def test_an_endpoint_of_every_tenant_is_recorded_in_the_vendor_log(setup: Setup) -> None:
    with setup.unit() as ctx:
        hook = webhooks.add_webhook(ctx, None, "https://billing.example.com/lisens", event_types=["invoice.issued"])
        webhooks.set_enabled(ctx, None, hook.id, enabled=False)
        webhooks.remove_webhook(ctx, None, hook.id)
    logged = _log_of(setup, None)
    assert [(action, after["id"]) for action, _, _, after in logged] == [
        ("webhook.create", hook.id),
        ("webhook.disable", hook.id),
        ("webhook.remove", hook.id),
    ]
    assert logged[1][3]["enabled"] is False
    assert _log_of(setup, "acme") == []


def test_a_refused_endpoint_change_records_nothing_and_the_log_entry_rolls_back_with_the_change(
    setup: Setup,
) -> None:
    with pytest.raises(LisensError), setup.unit() as ctx:
        webhooks.add_webhook(ctx, "acme", "ftp://nowhere")

    def fails_after_the_change() -> None:
        with setup.unit() as ctx:
            webhooks.add_webhook(ctx, "acme", "https://crm.example.com/hook")
            raise RuntimeError("the transaction fails after the change")

    with pytest.raises(RuntimeError):
        fails_after_the_change()
    assert _log_of(setup, "acme") == []
    with setup.unit() as ctx:
        assert webhooks.list_webhooks(ctx, "acme") == []
