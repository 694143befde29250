"""Long work does not block other tenants: bounded lock waits, set-based bulk, pages, cached snapshots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.models import AuditRow
from lisens.db.repositories import TenantRepository, UserRecord, UserRepository, chunks
from lisens.domain.errors import Busy, LisensError
from lisens.service import bulk, packages, tenants, users
from lisens.service.cache import SnapshotCache
from lisens.service.context import Context
from lisens.service.state import load_state
from tests.db.conftest import T0, Database
from tests.db.helpers import make_tenant

KEY = Ed25519PrivateKey.generate()


def test_a_change_waiting_for_a_tenant_held_by_a_long_change_gives_up_with_a_busy_code(
    fresh_database: Database,
) -> None:
    setup = make_session_factory(fresh_database.engine)()
    make_tenant(
        Context(session=setup, actor="setup", may_correct=True), "acme", seats={"sales-premium": 2}, people=("alice",)
    )
    make_tenant(
        Context(session=setup, actor="setup", may_correct=True), "globex", seats={"sales-premium": 2}, people=("gina",)
    )
    setup.commit()
    setup.close()
    holder = make_session_factory(fresh_database.engine)()
    load_state(Context(session=holder, actor="long"), "acme", lock=True)  # a long change holds acme
    engine = make_engine(fresh_database.url, lock_timeout=0.5)
    waiting = make_session_factory(engine)()
    try:
        with pytest.raises(Busy) as caught:
            users.assign(Context(session=waiting, actor="w"), "acme", "alice", plans=["sales-premium"])
        waiting.rollback()
        # SQLite has one writer for the whole file; PostgreSQL locks the tenant only.
        expected = "DATABASE_BUSY" if fresh_database.backend == "sqlite" else "TENANT_BUSY"
        assert (caught.value.code, caught.value.details["retry_after"]) == (expected, 2)
        if fresh_database.backend == "postgresql":
            users.assign(Context(session=waiting, actor="w"), "globex", "gina", plans=["sales-premium"])
            waiting.commit()
    finally:
        holder.rollback()
        holder.close()
        waiting.close()
        engine.dispose()


def test_a_bulk_of_more_rows_than_seats_is_refused_whole_and_writes_nothing(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3}, people=tuple(f"u{n}" for n in range(6)))
    entries = ctx.session.scalar(select(func.count()).select_from(AuditRow))
    rows = [bulk.BulkRow(n, f"u{n}", ("sales-premium",), (), "internal") for n in range(6)]
    with pytest.raises(LisensError) as caught:
        bulk.bulk_assign(ctx, "acme", rows, at=T0)
    assert [f["user"] for f in caught.value.details["failed"]] == ["u3", "u4", "u5"]
    assert {f["code"] for f in caught.value.details["failed"]} == {"SEAT_LIMIT_REACHED"}
    assert UserRepository(ctx.session).plan_counts(load_state(ctx, "acme").id) == {}
    assert ctx.session.scalar(select(func.count()).select_from(AuditRow)) == entries


def test_a_partial_bulk_takes_exactly_the_free_seats_and_frees_a_seat_a_user_leaves(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2, "sales-essential": 2}, people=("a", "b", "c"))
    users.assign(ctx, "acme", "a", plans=["sales-premium"], at=T0)
    rows = [
        bulk.BulkRow(1, "b", ("sales-premium",), (), "internal"),
        bulk.BulkRow(2, "c", ("sales-premium",), (), "internal"),  # no seat left
        bulk.BulkRow(3, "a", ("sales-essential",), (), "internal"),  # a leaves premium ...
        bulk.BulkRow(4, "c", ("sales-premium",), (), "internal"),  # ... so c gets its seat
    ]
    report = bulk.bulk_assign(ctx, "acme", rows, partial=True, at=T0)
    assert (report.applied, [f.line for f in report.failed]) == (3, [2])
    counts = UserRepository(ctx.session).plan_counts(load_state(ctx, "acme").id)
    assert counts == {"sales-premium": 2, "sales-essential": 1}
    log = [e for e in users_log(ctx) if e.action == "assign"]
    assert [(e.subject, e.after["plan"] if e.after else None) for e in log[-3:]] == [
        ("sales-premium", "sales-premium"),
        ("sales-essential", "sales-essential"),
        ("sales-premium", "sales-premium"),
    ]


def users_log(ctx: Context) -> list[AuditRow]:
    return list(ctx.session.scalars(select(AuditRow).order_by(AuditRow.id)))


def test_a_bulk_creating_users_in_crm_suite_gives_each_a_seat_of_the_tenants_plan(ctx: Context) -> None:
    make_tenant(ctx, generation="suite", seats={"growth": 2}, people=())
    rows = [bulk.BulkRow(n, f"new{n}", (), ("superoffice.visible-for",), "internal") for n in range(3)]
    report = bulk.bulk_assign(ctx, "acme", rows, partial=True, create_users=True, at=T0)
    assert report.applied == 2
    assert report.failed[0].code in ("SEAT_LIMIT_REACHED", "UNKNOWN_LICENSE")
    assert {u.user: u.plan for u in users.list_users(ctx, "acme")} == {"new0": "growth", "new1": "growth"}


def test_users_come_in_pages_by_name_after_a_cursor(ctx: Context) -> None:
    make_tenant(ctx, people=("erin", "alice", "dave", "bob", "carol"))
    first = users.list_users(ctx, "acme", limit=2)
    second = users.list_users(ctx, "acme", after=first[-1].user, limit=2)
    third = users.list_users(ctx, "acme", after=second[-1].user, limit=2)
    assert [[u.user for u in page] for page in (first, second, third)] == [
        ["alice", "bob"],
        ["carol", "dave"],
        ["erin"],
    ]


def test_tenants_come_in_pages_by_name(ctx: Context) -> None:
    for name in ("c-tenant", "a-tenant", "b-tenant"):
        tenants.create_tenant(ctx, name=name, generation="11", at=T0)
    page = tenants.list_tenants(ctx, after="a-tenant", limit=1)
    assert [t.name for t in page] == ["b-tenant"]


def test_lists_of_ids_longer_than_a_statement_may_carry_are_sent_in_chunks(database: Database) -> None:
    assert [len(part) for part in chunks(list(range(12_001)))] == [5_000, 5_000, 2_001]
    with database.engine.connect() as connection:
        transaction = connection.begin()
        from sqlalchemy.orm import Session

        session = Session(bind=connection)
        tenant = TenantRepository(session)
        ctx = Context(session=session, actor="test", may_correct=True)
        tenants.create_tenant(ctx, name="many", generation="11", at=T0)
        tenant_id = load_state(ctx, "many").id
        repo = UserRepository(session)
        names = [f"u{n:05d}" for n in range(40_000)]
        people = [UserRecord(0, name, "internal", True, False) for name in names]
        created = repo.insert_users(tenant_id, people, created_at=T0)
        found = repo.by_names(tenant_id, names)
        assert len(found) == 40_000
        assert sorted(row.id for row in found) == created
        assert repo.plans_of(tenant_id, created) == {}
        assert tenant.user_counts()[tenant_id] == 40_000
        session.close()
        transaction.rollback()
        connection.execute(text("SELECT 1"))


def test_a_snapshot_is_served_from_the_cache_until_the_tenant_changes(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2}, people=("alice", "bob"))
    cache = SnapshotCache()
    hour = timedelta(hours=1)
    first = packages.issue_snapshot(ctx, "acme", KEY, at=T0, ttl=hour, cache=cache)
    again = packages.issue_snapshot(ctx, "acme", KEY, at=T0 + timedelta(minutes=1), ttl=hour, cache=cache)
    assert again is first
    other_ttl = packages.issue_snapshot(ctx, "acme", KEY, at=T0, ttl=2 * hour, cache=cache)
    other_key = packages.issue_snapshot(ctx, "acme", Ed25519PrivateKey.generate(), at=T0, ttl=hour, cache=cache)
    assert other_ttl is not first
    assert other_key is not first
    users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=T0)
    changed = packages.issue_snapshot(ctx, "acme", KEY, at=T0 + timedelta(minutes=2), ttl=hour, cache=cache)
    assert changed["users"]["bob"] != first["users"]["bob"]
    assert "superoffice.sale-cal" in changed["users"]["bob"]
    late = packages.issue_snapshot(ctx, "acme", KEY, at=T0 + timedelta(minutes=9), ttl=hour, cache=cache)
    assert late is not changed  # older than a tenth of its TTL: issued afresh
    assert late["issued_at"] == (T0 + timedelta(minutes=9)).isoformat()


def _committed_tenant(database: Database, seats: int, people: tuple[str, ...]) -> None:
    with make_session_factory(database.engine)() as setup:
        make_tenant(
            Context(session=setup, actor="setup", may_correct=True), seats={"sales-premium": seats}, people=people
        )
        setup.commit()


def test_a_bulk_is_checked_while_another_change_holds_the_tenant_and_written_after(fresh_database: Database) -> None:
    _committed_tenant(fresh_database, 3, ("a", "b", "c"))
    rows = [bulk.BulkRow(n, name, ("sales-premium",), (), "internal") for n, name in enumerate(("a", "b"), start=1)]
    holder = make_session_factory(fresh_database.engine)()
    load_state(Context(session=holder, actor="long"), "acme", lock=True)  # another change holds the tenant
    try:
        with make_session_factory(fresh_database.engine, read_only=True)() as reader:
            prepared = bulk.prepare(Context(session=reader, actor="admin"), "acme", rows)
            reader.commit()
    finally:
        holder.rollback()
        holder.close()
    assert prepared.report.plain() == {"rows": 2, "applied": 2, "failed": [], "partial": False}
    with make_session_factory(fresh_database.engine)() as writer:
        ctx = Context(session=writer, actor="admin")
        assert bulk.commit(ctx, prepared) == prepared.report
        writer.commit()
        state = load_state(ctx, "acme")
        assert UserRepository(writer).plan_counts(state.id) == {"sales-premium": 2}
        assert [
            e.action
            for e in writer.scalars(select(AuditRow).where(AuditRow.tenant_id == state.id).order_by(AuditRow.seq))
        ][-2:] == ["assign", "assign"]


def test_a_bulk_whose_tenant_changed_after_the_check_is_checked_again_under_the_lock(
    fresh_database: Database,
) -> None:
    _committed_tenant(fresh_database, 2, ("a", "b", "c"))
    rows = [bulk.BulkRow(n, name, ("sales-premium",), (), "internal") for n, name in enumerate(("a", "b"), start=1)]
    factory = make_session_factory(fresh_database.engine)
    with make_session_factory(fresh_database.engine, read_only=True)() as reader:
        prepared = bulk.prepare(Context(session=reader, actor="admin"), "acme", rows)
    with factory() as other:  # meanwhile, c takes one of the two seats
        users.assign(Context(session=other, actor="other"), "acme", "c", plans=["sales-premium"])
        other.commit()
    with factory() as writer, pytest.raises(LisensError) as caught:
        bulk.commit(Context(session=writer, actor="admin"), prepared)
    assert caught.value.code == "BULK_ASSIGN_FAILED"
    assert [f["code"] for f in caught.value.details["failed"]] == ["SEAT_LIMIT_REACHED"]
    with factory() as check:
        state = load_state(Context(session=check, actor="check"), "acme")
        assert UserRepository(check).holders_of_plan(state.id, "sales-premium") == ["c"]
