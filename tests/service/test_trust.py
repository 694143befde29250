"""Trust on the database: the server's clock decides, corrections are exact or refused, the log is the order
of commits and shows any edit."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from lisens.db.engine import make_session_factory
from lisens.db.models import AuditRow, UserLicenseRow, UserPlanRow, UserRow
from lisens.db.repositories import AuditRepository
from lisens.domain.errors import LisensError
from lisens.service import audit, scheduling, subscriptions, tenants, tokens, users
from lisens.service.context import Context
from tests.db.conftest import T0, Database
from tests.db.helpers import make_tenant


def test_every_change_is_numbered_in_order_and_the_chain_verifies(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0)
    users.unassign(ctx, "acme", "alice", plan=True, at=T0 + timedelta(minutes=1))
    entries = audit.audit_log(ctx, "acme")
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    report = audit.verify_log(ctx, "acme")
    assert (report.ok, report.entries, report.head) == (True, len(entries), len(entries))


def test_a_tenant_role_cannot_give_the_time_of_a_change(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    admin = replace(ctx, may_correct=False)
    with pytest.raises(LisensError) as caught:
        users.assign(admin, "acme", "alice", plans=["sales-premium"], at=datetime(2020, 1, 1, tzinfo=UTC))
    assert caught.value.code == "TIME_NOT_ALLOWED"
    done = users.assign(admin, "acme", "alice", plans=["sales-premium"])
    assert done.changed
    last = audit.audit_log(ctx, "acme")[-1]
    assert (last.at, last.correction) == (ctx.now().isoformat(), False)


def test_a_correction_before_the_last_entry_is_refused_and_changes_nothing(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0 + timedelta(days=2))
    before = audit.audit_log(ctx, "acme")
    with pytest.raises(LisensError) as caught:
        users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=T0 + timedelta(days=1))
    assert caught.value.code == "CHANGE_BEFORE_HISTORY"
    assert audit.audit_log(ctx, "acme") == before


def test_a_change_dated_in_the_future_waits_and_is_applied_at_its_time(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 30})
    due = T0 + timedelta(days=30)
    now = replace(ctx, clock=lambda: T0 + timedelta(days=1))
    with pytest.raises(LisensError) as refused:
        tenants.set_seats(replace(now, may_correct=False), "acme", "sales-premium", 40, at=due)
    assert refused.value.code == "TIME_NOT_ALLOWED"
    waiting = tenants.set_seats(now, "acme", "sales-premium", 40, at=due)
    assert (waiting.scheduled.operation, waiting.scheduled.state) == ("tenants.set_seats", "pending")
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 30}
    admin_later = replace(ctx, clock=lambda: due + timedelta(days=1), may_correct=False)
    users.assign(admin_later, "acme", "alice", plans=["sales-premium"])  # any later change applies it first
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 40}
    entries = audit.audit_log(ctx, "acme")
    raised = next(e for e in entries if e.action == "seats.set" and e.after["seats"]["sales-premium"] == 40)
    assert (raised.at, raised.correction) == (due.isoformat(), False)
    assert entries[-1].action == "assign"
    assert [c.state for c in scheduling.list_changes(ctx, "acme")] == ["applied"]
    assert audit.verify_log(ctx, "acme").ok


def test_a_scheduled_change_that_no_longer_fits_fails_visibly_and_changes_nothing(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0)
    due = T0 + timedelta(days=30)
    tenants.set_seats(replace(ctx, clock=lambda: T0 + timedelta(hours=1)), "acme", "sales-premium", 0, at=due)
    done = scheduling.run_due(replace(ctx, clock=lambda: due + timedelta(hours=1)), "acme")["acme"]
    assert [(c.state, c.outcome.split(":")[0]) for c in done] == [("failed", "SEATS_BELOW_IN_USE")]
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 2}
    assert audit.audit_log(ctx, "acme")[-1].action == "change.failed"
    assert audit.verify_log(ctx, "acme").ok


def test_a_pending_change_can_be_cancelled_once(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    now = replace(ctx, clock=lambda: T0)
    waiting = tenants.add_addon(now, "acme", "cep", at=T0 + timedelta(days=3)).scheduled
    assert scheduling.cancel_change(now, "acme", waiting.id).state == "cancelled"
    with pytest.raises(LisensError) as again:
        scheduling.cancel_change(now, "acme", waiting.id)
    assert again.value.code == "NOT_PENDING"
    scheduling.run_due(replace(ctx, clock=lambda: T0 + timedelta(days=4)), "acme")
    assert tenants.show_tenant(ctx, "acme").addons == []


def test_a_correction_before_an_issued_invoice_is_refused(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 5})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=1, at=T0)
    subscriptions.renew(ctx, "acme", at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    with pytest.raises(LisensError) as caught:
        tenants.set_seats(ctx, "acme", "sales-essential", 9, at=datetime(2026, 3, 1, 13, tzinfo=UTC))
    assert caught.value.code == "CHANGE_BEFORE_HISTORY"


WHEN = T0 + timedelta(days=40)


def test_a_correction_recorded_in_order_bills_as_if_it_had_been_recorded_then(database: Database) -> None:
    """History and invoices after a correction equal those of the same changes recorded when they happened."""
    results = []
    for corrected in (False, True):
        session = make_session_factory(database.engine)()
        try:
            clock_then = Context(session, "vendor", clock=lambda: WHEN, may_correct=True)
            make_tenant(clock_then, f"t{int(corrected)}", seats={"sales-essential": 5})
            subscriptions.create_subscription(clock_then, f"t{int(corrected)}", start=date(2026, 1, 1), period=1)
            if corrected:  # recorded a week later, as a correction dated when it happened
                later = Context(session, "vendor", clock=lambda: WHEN + timedelta(days=7), may_correct=True)
                tenants.set_seats(later, f"t{int(corrected)}", "sales-essential", 8, at=WHEN + timedelta(hours=1))
            else:
                on_time = Context(session, "vendor", clock=lambda: WHEN + timedelta(hours=1), may_correct=True)
                tenants.set_seats(on_time, f"t{int(corrected)}", "sales-essential", 8)
            invoices = subscriptions.list_invoices(
                clock_then, f"t{int(corrected)}", start=date(2026, 1, 1), end=date(2026, 6, 1)
            )
            results.append([(i.issued, i.total) for i in invoices])
            last = audit.audit_log(clock_then, f"t{int(corrected)}")[-1]
            assert last.correction is corrected
        finally:
            session.rollback()
            session.close()
    assert results[0] == results[1]
    assert results[0]


def _tamper(ctx: Context, sql: str, **params: object) -> None:
    ctx.session.execute(text(sql), params)
    ctx.session.expire_all()


def _entry_id(ctx: Context, tenant_id: int, seq: int) -> int:
    found = ctx.session.scalar(select(AuditRow.id).where(AuditRow.tenant_id == tenant_id, AuditRow.seq == seq))
    assert found is not None
    return found


def _billed(ctx: Context) -> str:
    make_tenant(ctx, seats={"sales-essential": 30})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=1, at=T0)
    return tenants.show_tenant(ctx, "acme").name


def test_an_edited_entry_is_named_and_invoices_are_refused(ctx: Context) -> None:
    _billed(ctx)
    tenant_id = ctx.session.scalar(text("SELECT id FROM tenant WHERE name = 'acme'"))
    seats_entry = next(e for e in audit.audit_log(ctx, "acme") if e.action == "seats.set")
    _tamper(
        ctx,
        "UPDATE audit SET after = :after WHERE id = :id",
        after='{"generation": "11", "seats": {"sales-essential": 3}, "addons": [], "system": []}',
        id=_entry_id(ctx, tenant_id, seats_entry.seq),
    )
    report = audit.verify_log(ctx, "acme")
    assert report.broken is not None
    assert (report.broken.seq, report.broken.problem) == (seats_entry.seq, "EDITED")
    with pytest.raises(LisensError) as caught:
        subscriptions.list_invoices(ctx, "acme", start=date(2026, 1, 1), end=date(2026, 3, 1))
    assert (caught.value.code, caught.value.details["seq"]) == ("AUDIT_LOG_TAMPERED", seats_entry.seq)


def test_a_deleted_entry_is_named(ctx: Context) -> None:
    _billed(ctx)
    tenant_id = ctx.session.scalar(text("SELECT id FROM tenant WHERE name = 'acme'"))
    _tamper(ctx, "DELETE FROM audit WHERE id = :id", id=_entry_id(ctx, tenant_id, 2))
    report = audit.verify_log(ctx, "acme")
    assert report.broken is not None
    assert (report.broken.seq, report.broken.problem) == (2, "MISSING")


def test_a_deleted_last_entry_is_named(ctx: Context) -> None:
    _billed(ctx)
    tenant_id = ctx.session.scalar(text("SELECT id FROM tenant WHERE name = 'acme'"))
    head = audit.verify_log(ctx, "acme").head
    _tamper(ctx, "DELETE FROM audit WHERE id = :id", id=_entry_id(ctx, tenant_id, head))
    report = audit.verify_log(ctx, "acme")
    assert report.broken is not None
    assert (report.broken.seq, report.broken.problem) == (head, "TRUNCATED")


def test_two_swapped_entries_are_named(ctx: Context) -> None:
    _billed(ctx)
    tenant_id = ctx.session.scalar(text("SELECT id FROM tenant WHERE name = 'acme'"))
    first, second = _entry_id(ctx, tenant_id, 2), _entry_id(ctx, tenant_id, 3)
    # Swap everything but the numbers: each row now holds the other's entry, hash and all.
    rows = {row.id: row for row in ctx.session.scalars(select(AuditRow).where(AuditRow.id.in_([first, second])))}
    a, b = rows[first], rows[second]
    swapped = [
        (a.id, b.at, b.action, b.subject, b.user_id, b.after, b.prev_hash, b.hash),
        (b.id, a.at, a.action, a.subject, a.user_id, a.after, a.prev_hash, a.hash),
    ]
    for row_id, at, action, subject, user_id, after, prev, digest in swapped:
        ctx.session.execute(
            AuditRow.__table__.update()
            .where(AuditRow.id == row_id)
            .values(at=at, action=action, subject=subject, user_id=user_id, after=after, prev_hash=prev, hash=digest)
        )
    ctx.session.expire_all()
    report = audit.verify_log(ctx, "acme")
    assert report.broken is not None
    assert report.broken.seq == 2


def test_vendor_tokens_are_recorded_in_the_vendor_log(ctx: Context) -> None:
    before = audit.verify_log(ctx, None).head
    _, info = tokens.create_token(ctx, role="vendor", description="ops")
    tokens.revoke_token(ctx, info.id)
    entries = AuditRepository(ctx.session).vendor_entries(after_seq=before)
    assert [(e.action, e.after) for e in entries] == [
        ("token.create", {"id": info.id}),
        ("token.revoke", {"id": info.id}),
    ]
    assert audit.verify_log(ctx, None).ok


def _held_in_database(session: object, tenant_id: int) -> dict[str, tuple[str | None, list[str]]]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    plans = dict(
        session.execute(
            select(UserPlanRow.user_id, UserPlanRow.plan_key).where(UserPlanRow.tenant_id == tenant_id)
        ).all()
    )
    direct: dict[int, list[str]] = {}
    for user_id, name in session.execute(
        select(UserLicenseRow.user_id, UserLicenseRow.name).where(UserLicenseRow.tenant_id == tenant_id)
    ):
        direct.setdefault(user_id, []).append(name)
    return {
        row.name: (plans.get(row.id), sorted(direct.get(row.id, [])))
        for row in session.scalars(select(UserRow).where(UserRow.tenant_id == tenant_id))
    }


def test_after_concurrent_changes_the_history_of_every_user_equals_the_database(fresh_database: Database) -> None:
    """Assign, unassign and switch from several threads; then "what did U hold now" from the log alone must
    equal the database for every user, and the log must verify."""
    seconds = float(os.environ.get("LISENS_TRUST_SECONDS", "30"))
    people = [f"u{n:03d}" for n in range(40)]
    factory = make_session_factory(fresh_database.engine)
    with factory() as setup:
        vendor = Context(setup, "setup", may_correct=True)
        make_tenant(vendor, seats={"sales-premium": 15, "sales-essential": 15}, people=tuple(people))
        setup.commit()
    deadline = time.monotonic() + seconds
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        chooser = random.Random(seed)
        while time.monotonic() < deadline:
            session = factory()
            try:
                ctx = Context(session, f"worker{seed}")
                who = chooser.choice(people)
                move = chooser.random()
                if move < 0.45:
                    users.assign(ctx, "acme", who, plans=[chooser.choice(["sales-premium", "sales-essential"])])
                elif move < 0.9:
                    users.unassign(ctx, "acme", who, plan=True)
                else:
                    users.assign(ctx, "acme", who, licenses=["superoffice.visible-for"])
                session.commit()
            except LisensError:
                session.rollback()
            except BaseException as error:
                errors.append(error)
                session.rollback()
            finally:
                session.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as session:
        ctx = Context(session, "check")
        tenant_id = session.scalar(text("SELECT id FROM tenant WHERE name = 'acme'"))
        held = _held_in_database(session, tenant_id)
        now = datetime.now(UTC) + timedelta(seconds=1)
        for name in people:
            then = audit.holdings_at(ctx, "acme", name, now)
            assert (then.plan, sorted(then.direct)) == held[name], name
        report = audit.verify_log(ctx, "acme")
        assert report.ok, report.broken
        times = [e.at for e in audit.audit_log(ctx, "acme")]
        assert times == sorted(times)
