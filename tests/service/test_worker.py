"""The worker: renewals at the term boundary, caught up exactly after a pause, never done twice."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lisens.db.engine import make_session_factory
from lisens.service import events, subscriptions, tenants, users
from lisens.service.worker import Worker, boundary_due
from tests.db.conftest import Database, create_database, drop_database
from tests.service.test_webhooks import Clock

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _worker(database: Database, clock: Clock) -> Worker:
    from lisens.service.uow import unit_of_work

    factory = make_session_factory(database.engine)
    return Worker(unit=lambda: unit_of_work(factory, actor="worker", catalog_dir=None, clock=clock))


def _prepare(worker: Worker) -> None:
    with worker.unit() as ctx:
        tenants.create_tenant(ctx, name="acme", generation="11")
        tenants.set_seats(ctx, "acme", "sales-premium", 5)
        subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=1)
        users.add_user(ctx, "acme", "ann")
        users.assign(ctx, "acme", "ann", plans=["sales-premium"])
        tenants.set_seats(ctx, "acme", "sales-premium", 2)  # a lowering: waits for the term's end


def _invoices(worker: Worker) -> list[tuple[int, str, str]]:
    with worker.unit() as ctx:
        found = subscriptions.list_invoices(ctx, "acme", start=date(2026, 1, 1), end=date(2028, 1, 1))
    return [(i.number, i.issued, i.total) for i in found if i.final]


def test_a_boundary_is_due_once_a_month_after_the_last_invoice() -> None:
    start = date(2026, 1, 31)
    assert boundary_due(start, None, date(2026, 1, 31))
    assert not boundary_due(start, date(2026, 1, 31), date(2026, 2, 27))
    assert boundary_due(start, date(2026, 1, 31), date(2026, 2, 28))
    assert not boundary_due(start, None, date(2026, 1, 30))


def test_renewals_missed_while_no_worker_ran_are_caught_up_exactly(fresh_database: Database, tmp_path: Path) -> None:
    other, token = create_database(fresh_database.backend, tmp_path / "other")
    try:
        on_time_clock, late_clock = Clock(START), Clock(START)
        on_time, late = _worker(fresh_database, on_time_clock), _worker(other, late_clock)
        _prepare(on_time)
        _prepare(late)
        for month in range(1, 15):
            on_time_clock.now = datetime(2026 + month // 12, month % 12 + 1, 1, 0, 5, tzinfo=UTC)  # to 2027-03
            on_time.run_once()
        late_clock.now = on_time_clock.now  # fourteen months without a worker, then one run
        report = late.run_once()
        assert "acme" in report["renewals"]
        assert _invoices(late) == _invoices(on_time)
        assert len(_invoices(late)) > 12
        with late.unit() as ctx:
            types = [e.type for e in events.tenant_events(ctx, "acme", limit=1000)]
        assert types.count("invoice.issued") == len(_invoices(late))
        assert "subscription.renewed" in types
        assert "seats.changed" in types
        assert late.run_once()["renewals"] == {}  # nothing left: a second run changes nothing
    finally:
        drop_database(other, token)


def test_two_workers_at_the_same_moment_issue_each_invoice_once(fresh_database: Database) -> None:
    clock = Clock(START)
    first, second = _worker(fresh_database, clock), _worker(fresh_database, clock)
    _prepare(first)
    clock.now = datetime(2026, 6, 1, 0, 5, tzinfo=UTC)
    threads = [threading.Thread(target=w.run_once) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = [n for n, _, _ in _invoices(first)]
    assert numbers == list(range(1, 7))


@pytest.mark.parametrize("day", [date(2027, 1, 1), date(2027, 1, 13)])
def test_a_cancelled_subscription_gives_grace_and_expiry_events_once(fresh_database: Database, day: date) -> None:
    clock = Clock(START)
    worker = _worker(fresh_database, clock)
    _prepare(worker)
    with worker.unit() as ctx:
        subscriptions.cancel_subscription(ctx, "acme")
    clock.now = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    worker.run_once()
    worker.run_once()
    with worker.unit() as ctx:
        types = [e.type for e in events.tenant_events(ctx, "acme", limit=1000)]
    expected = "license.in_grace" if day.day == 1 else "license.expired"
    assert types.count(expected) == 1
