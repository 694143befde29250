"""Waves: a cohort moved tenant by tenant at each renewal or on a date, by the worker, paused, cancelled and
rolled back exactly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from lisens.db.engine import make_session_factory
from lisens.db.repositories import AuditRepository
from lisens.domain.errors import LisensError
from lisens.service import audit, subscriptions, tenants, users, waves
from lisens.service.context import Context
from lisens.service.move_plans import Selection
from lisens.service.worker import Worker
from tests.db.conftest import Database
from tests.service.test_moves import state_of
from tests.service.test_webhooks import Clock

TODAY = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
AT = datetime(2026, 1, 20, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def worker_on(ctx: Context, clock: Clock) -> Worker:
    """A worker whose every unit of work is a savepoint of the test's transaction, on `clock`."""

    @contextmanager
    def unit() -> Iterator[Context]:
        with ctx.session.begin_nested():
            yield replace(ctx, clock=clock, actor="worker", may_correct=False)

    return Worker(unit=unit)


def cohort(ctx: Context) -> None:
    """alpha renews on 2027-01-01, beta on 2027-01-15; gamma has an add-on CRM Suite does not sell."""
    for name, plan, start in (
        ("alpha", "sales-essential", date(2026, 1, 1)),
        ("beta", "sales-premium", date(2026, 1, 15)),
        ("gamma", "sales-premium", date(2026, 1, 1)),
    ):
        tenants.create_tenant(ctx, name=name, generation="11", at=AT)
        tenants.set_seats(ctx, name, plan, 2, at=AT)
        for person in ("ann", "bo"):
            users.add_user(ctx, name, person, at=AT)
            users.assign(ctx, name, person, plans=[plan], at=AT)
        subscriptions.create_subscription(ctx, name, start=start, period=12, at=AT)
    tenants.add_addon(ctx, "gamma", "calendar-sync", at=AT)


@pytest.fixture
def clock(ctx: Context) -> Clock:
    return Clock(TODAY)


@pytest.fixture
def vendor(ctx: Context, clock: Clock) -> Context:
    cohort(ctx)
    return replace(ctx, clock=clock, actor="vendor")


def rows(vendor: Context, wave_id: int) -> dict[str, tuple[str, str]]:
    return {t.tenant: (t.state, t.reason) for t in waves.wave_report(vendor, wave_id).tenants}


def generations(vendor: Context) -> dict[str, str]:
    return {name: tenants.show_tenant(vendor, name).generation for name in ("alpha", "beta", "gamma")}


def test_a_wave_at_renewal_moves_each_tenant_at_its_own_renewal_and_nothing_before(
    vendor: Context, clock: Clock
) -> None:
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha", "beta")), at="renewal")
    assert [(t.tenant, t.state, t.effective) for t in wave.tenants] == [
        ("alpha", "scheduled", "2027-01-01"),
        ("beta", "scheduled", "2027-01-15"),
    ]
    clock.now = day("2027-02-01")
    worker = worker_on(vendor, clock)
    assert worker.due_work(until=day("2026-12-31"))["waves"] == {}
    assert generations(vendor) == {"alpha": "11", "beta": "11", "gamma": "11"}
    assert worker.due_work(until=day("2027-01-10"))["waves"] == {"alpha": "moved"}
    assert generations(vendor) == {"alpha": "suite", "beta": "11", "gamma": "11"}
    assert worker.due_work(until=day("2027-01-20"))["waves"] == {"beta": "moved"}
    report = waves.wave_report(vendor, wave.id)
    assert {t.tenant: t.done_at for t in report.tenants} == {
        "alpha": "2027-01-01T00:00:00+00:00",
        "beta": "2027-01-15T00:00:00+00:00",
    }
    assert (report.counts.moved, report.finished) == (2, True)
    moved = [e for e in audit.audit_log(vendor, "alpha", limit=1000) if e.action == "move.apply"]
    assert [e.at for e in moved] == ["2027-01-01T00:00:00+00:00"]
    assert worker.due_work(until=day("2027-01-31"))["waves"] == {}  # nothing left to do


def test_the_invoice_of_the_new_term_follows_the_new_generation(vendor: Context, clock: Clock) -> None:
    waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha",)), at="renewal")
    clock.now = day("2027-01-02")
    worker_on(vendor, clock).due_work()
    issued = {
        i.issued: i for i in subscriptions.list_invoices(vendor, "alpha", start=date(2026, 1, 1), end=date(2027, 2, 1))
    }
    assert issued["2027-01-01"].lines[0].item == "core"  # Sales Essential -> Core


def test_pause_stops_due_moves_and_resume_runs_them(vendor: Context, clock: Clock) -> None:
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha", "beta")), at="2026-03-01")
    assert waves.pause_wave(vendor, wave.id).status == "paused"
    clock.now = day("2026-03-02")
    worker = worker_on(vendor, clock)
    assert worker.due_work()["waves"] == {}
    assert generations(vendor)["alpha"] == "11"
    assert set(rows(vendor, wave.id).values()) == {("scheduled", "")}
    assert waves.resume_wave(vendor, wave.id).status == "active"
    assert worker.due_work()["waves"] == {"alpha": "moved", "beta": "moved"}
    assert generations(vendor)["alpha"] == generations(vendor)["beta"] == "suite"


def test_pausing_resuming_or_cancelling_in_the_wrong_state_is_a_conflict_with_a_code(vendor: Context) -> None:
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha",)), at="renewal")
    for action, code in ((waves.resume_wave, "WAVE_NOT_PAUSED"),):
        with pytest.raises(LisensError) as caught:
            action(vendor, wave.id)
        assert (caught.value.code, caught.value.code.status) == (code, 409)
    waves.pause_wave(vendor, wave.id)
    with pytest.raises(LisensError) as caught:
        waves.pause_wave(vendor, wave.id)
    assert caught.value.code == "WAVE_PAUSED"
    waves.cancel_wave(vendor, wave.id)
    for action in (waves.pause_wave, waves.resume_wave, waves.cancel_wave):
        with pytest.raises(LisensError) as caught:
            action(vendor, wave.id)
        assert (caught.value.code, caught.value.code.status) == ("WAVE_CANCELLED", 409)
    with pytest.raises(LisensError) as caught:
        waves.pause_wave(vendor, 999)
    assert (caught.value.code, caught.value.code.status) == ("UNKNOWN_WAVE", 404)


def test_cancel_leaves_pending_tenants_alone_and_moved_ones_moved(vendor: Context, clock: Clock) -> None:
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha", "beta")), at="renewal")
    clock.now = day("2027-02-01")
    worker = worker_on(vendor, clock)
    worker.due_work(until=day("2027-01-05"))
    cancelled = waves.cancel_wave(vendor, wave.id)
    assert (cancelled.status, cancelled.counts.moved, cancelled.counts.cancelled) == ("cancelled", 1, 1)
    assert worker.due_work()["waves"] == {}
    assert generations(vendor) == {"alpha": "suite", "beta": "11", "gamma": "11"}
    assert rows(vendor, wave.id) == {"alpha": ("moved", ""), "beta": ("cancelled", "")}


def test_a_blocked_tenant_is_reported_with_its_reason_and_the_others_still_move(vendor: Context, clock: Clock) -> None:
    before = state_of(vendor, "gamma")
    wave = waves.create_wave(vendor, to="suite", selection=Selection(generation="11"), at="2026-03-01")
    clock.now = day("2026-03-01T06:00")
    report = worker_on(vendor, clock).due_work()
    assert report["waves"] == {"alpha": "moved", "beta": "moved", "gamma": "blocked: no-counterpart"}
    assert report["errors"] == {}
    assert state_of(vendor, "gamma") == before  # not moved, not touched
    gamma = next(t for t in waves.wave_report(vendor, wave.id).tenants if t.tenant == "gamma")
    assert "calendar-sync" in gamma.detail
    assert waves.show_wave(vendor, wave.id).counts.model_dump() == {
        "scheduled": 0,
        "moved": 2,
        "blocked": 1,
        "rolled_back": 0,
        "cancelled": 0,
    }


def test_a_tenant_with_no_renewal_or_on_the_target_already_is_blocked_when_the_wave_is_made(
    vendor: Context,
) -> None:
    tenants.create_tenant(vendor, name="delta", generation="11")
    tenants.create_tenant(vendor, name="epsilon", generation="suite")
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("delta", "epsilon")), at="renewal")
    assert rows(vendor, wave.id) == {"delta": ("blocked", "no-renewal"), "epsilon": ("blocked", "on-target")}


def test_rolling_back_a_wave_restores_every_moved_tenant_exactly(vendor: Context, clock: Clock) -> None:
    before = {name: state_of(vendor, name) for name in ("alpha", "beta", "gamma")}
    wave = waves.create_wave(vendor, to="suite", selection=Selection(generation="11"), at="2026-03-01")
    clock.now = day("2026-03-02")
    worker_on(vendor, clock).due_work()
    assert state_of(vendor, "alpha") != before["alpha"]
    clock.now = day("2026-03-03")
    report = waves.rollback_wave(vendor, wave.id)
    assert {name: state_of(vendor, name) for name in before} == before
    assert rows(vendor, wave.id) == {
        "alpha": ("rolled-back", ""),
        "beta": ("rolled-back", ""),
        "gamma": ("blocked", "no-counterpart"),
    }
    assert (report.status, report.counts.rolled_back) == ("cancelled", 2)
    assert _vendor_actions(vendor).count("wave.rollback") == 2


def test_one_tenant_s_move_is_rolled_back_exactly_and_only_once(vendor: Context, clock: Clock) -> None:
    before = state_of(vendor, "alpha")
    wave = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("alpha", "beta")), at="2026-03-01")
    clock.now = day("2026-03-02")
    worker_on(vendor, clock).due_work()
    assert waves.rollback_tenant(vendor, wave.id, "alpha").state == "rolled-back"
    assert state_of(vendor, "alpha") == before
    assert generations(vendor)["beta"] == "suite"
    with pytest.raises(LisensError) as caught:
        waves.rollback_tenant(vendor, wave.id, "alpha")
    assert caught.value.code == "WAVE_TENANT_NOT_MOVED"
    with pytest.raises(LisensError) as caught:
        waves.rollback_tenant(vendor, wave.id, "gamma")
    assert caught.value.code == "NOT_IN_WAVE"


def test_a_saved_plan_makes_a_wave_of_the_tenants_it_selects(vendor: Context) -> None:
    saved = waves.save_plan(vendor, "smb-2027", to="suite", selection=Selection(tenants=("beta", "alpha")))
    assert (saved.to, saved.selection.tenants) == ("suite", ["alpha", "beta"])
    assert [p.name for p in waves.list_plans(vendor)] == ["smb-2027"]
    wave = waves.create_wave(vendor, plan="smb-2027", at="renewal")
    assert (wave.plan, [t.tenant for t in wave.tenants]) == ("smb-2027", ["alpha", "beta"])
    assert [w.id for w in waves.list_waves(vendor)] == [wave.id]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"plan": "nothing", "at": "renewal"}, "UNKNOWN_MOVE_PLAN"),
        ({"to": "suite", "at": "someday"}, "INVALID_TIME"),
        ({"to": "suite", "at": "2026-01-01"}, "WAVE_DATE_PASSED"),
        ({"to": "suite", "at": "renewal", "selection": Selection(tags=(("segment", "none"),))}, "WAVE_EMPTY"),
        ({"to": "nowhere", "at": "renewal"}, "UNKNOWN_GENERATION"),
        ({"at": "renewal"}, "INVALID_INPUT"),
    ],
)
def test_a_bad_wave_is_refused_with_a_code(vendor: Context, kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(LisensError) as caught:
        waves.create_wave(vendor, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert 400 <= caught.value.code.status < 500


def test_every_change_to_a_wave_is_in_the_vendor_s_log(vendor: Context, clock: Clock) -> None:
    waves.save_plan(vendor, "all", to="suite", selection=Selection(tenants=("alpha", "gamma")))
    wave = waves.create_wave(vendor, plan="all", at="2026-03-01")
    waves.pause_wave(vendor, wave.id)
    waves.resume_wave(vendor, wave.id)
    clock.now = day("2026-03-02")
    worker_on(vendor, clock).due_work()
    waves.rollback_tenant(vendor, wave.id, "alpha")
    waves.cancel_wave(vendor, wave.id)
    assert _vendor_actions(vendor) == [
        "move_plan.save",
        "wave.create",
        "wave.pause",
        "wave.resume",
        "wave.move",
        "wave.block",
        "wave.rollback",
        "wave.cancel",
    ]
    assert audit.verify_log(vendor, None).ok


def _vendor_actions(ctx: Context) -> list[str]:
    entries = AuditRepository(ctx.session).vendor_entries()
    return [row.action for row in entries if row.action.startswith(("wave", "move"))]


def test_two_workers_at_the_same_moment_move_each_tenant_once(fresh_database: Database) -> None:
    from lisens.service.uow import unit_of_work

    clock = Clock(TODAY)
    factory = make_session_factory(fresh_database.engine)

    def unit() -> AbstractContextManager[Context]:
        return unit_of_work(factory, actor="worker", catalog_dir=None, clock=clock)

    with unit_of_work(factory, actor="vendor", catalog_dir=None, clock=clock, may_correct=True) as ctx:
        cohort(ctx)
        wave = waves.create_wave(ctx, to="suite", selection=Selection(tenants=("alpha", "beta")), at="2026-03-01")
    clock.now = day("2026-03-02")
    workers = [Worker(unit=unit) for _ in range(3)]
    reports: list[dict[str, object]] = []
    threads = [threading.Thread(target=lambda w=w: reports.append(w.due_work())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moved = [name for report in reports for name, state in report["waves"].items() if state == "moved"]  # type: ignore[attr-defined]
    assert sorted(moved) == ["alpha", "beta"]
    with unit() as ctx:
        for name in ("alpha", "beta"):
            applied = [e for e in audit.audit_log(ctx, name, limit=1000) if e.action == "move.apply"]
            assert len(applied) == 1
        assert waves.show_wave(ctx, wave.id).counts.moved == 2
