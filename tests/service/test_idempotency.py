"""Idempotency-Key reservations: one request runs, its answer is committed with its effect, a dead one's
reservation is taken over after its lease and the old request can then commit nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lisens.db.engine import make_session_factory
from lisens.domain.errors import Code, LisensError
from lisens.service import idempotency, tenants
from lisens.service.idempotency import LEASE, Reservation, Stored
from lisens.service.uow import unit_of_work
from tests.db.conftest import Database

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ANSWER = Stored(201, "application/json", b'{"ok":true}')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _begin(database: Database, clock: Clock) -> Stored | Reservation:
    with unit_of_work(make_session_factory(database.engine), actor="t", catalog_dir=None, clock=clock) as ctx:
        return idempotency.begin(ctx, "caller", "key-1", "print")


def _apply(database: Database, clock: Clock, reservation: Reservation, tenant: str) -> None:
    """The request's write: its transaction is kept open for the answer."""
    factory = make_session_factory(database.engine)
    with unit_of_work(factory, actor="t", catalog_dir=None, clock=clock, keep=reservation.keep) as ctx:
        tenants.create_tenant(ctx, name=tenant, generation="11")


def _tenants(database: Database, clock: Clock) -> list[str]:
    factory = make_session_factory(database.engine, read_only=True)  # reads beside a kept write (SQLite)
    with unit_of_work(factory, actor="t", catalog_dir=None, clock=clock) as ctx:
        return sorted(t.name for t in tenants.list_tenants(ctx))


def test_the_answer_is_committed_with_the_effect_and_a_retry_gets_it(fresh_database: Database) -> None:
    clock = Clock()
    reservation = _begin(fresh_database, clock)
    assert isinstance(reservation, Reservation)
    _apply(fresh_database, clock, reservation, "acme")
    assert _tenants(fresh_database, clock) == []  # not committed before its answer is stored
    idempotency.commit_with_answer(reservation, ANSWER)
    assert _tenants(fresh_database, clock) == ["acme"]
    assert _begin(fresh_database, clock) == ANSWER


def test_a_running_request_holds_its_key_and_a_retry_is_told_to_come_back(fresh_database: Database) -> None:
    clock = Clock()
    assert isinstance(_begin(fresh_database, clock), Reservation)
    clock.now += LEASE - timedelta(seconds=1)
    with pytest.raises(LisensError) as refused:
        _begin(fresh_database, clock)
    assert refused.value.code == Code.IDEMPOTENCY_KEY_IN_USE
    assert refused.value.details["retry_after"] == idempotency.RETRY_AFTER


def test_a_reservation_past_its_lease_is_taken_over_and_its_old_request_commits_nothing(
    fresh_database: Database,
) -> None:
    clock = Clock()
    first = _begin(fresh_database, clock)
    assert isinstance(first, Reservation)
    clock.now += LEASE
    second = _begin(fresh_database, clock)  # the first request looks dead: its retry runs
    assert isinstance(second, Reservation)
    _apply(fresh_database, clock, first, "slow")
    with pytest.raises(LisensError) as refused:
        idempotency.commit_with_answer(first, ANSWER)
    assert refused.value.code == Code.IDEMPOTENCY_KEY_IN_USE
    _apply(fresh_database, clock, second, "retried")
    idempotency.commit_with_answer(second, ANSWER)
    assert _tenants(fresh_database, clock) == ["retried"]
    assert _begin(fresh_database, clock) == ANSWER


def test_a_request_that_dies_before_committing_leaves_no_effect_and_a_retry_runs_again(
    fresh_database: Database,
) -> None:
    clock = Clock()
    reservation = _begin(fresh_database, clock)
    assert isinstance(reservation, Reservation)
    _apply(fresh_database, clock, reservation, "acme")
    idempotency.discard(reservation)  # the process ends: its open transaction is gone
    assert _tenants(fresh_database, clock) == []
    clock.now += LEASE
    retry = _begin(fresh_database, clock)
    assert isinstance(retry, Reservation)
    _apply(fresh_database, clock, retry, "acme")
    idempotency.commit_with_answer(retry, ANSWER)
    assert _tenants(fresh_database, clock) == ["acme"]
