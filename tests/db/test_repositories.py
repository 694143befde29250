"""Many rows at once: the users, plans, licenses and log entries a bulk writes by COPY on PostgreSQL are
the rows the plain statements write, and the log entries are those appended one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lisens.db.models import AuditRow, TenantRow, UserLicenseRow, UserPlanRow, UserRow
from lisens.db.repositories import AuditRepository, NewEntry, TenantRepository, UserRepository
from lisens.domain.auditchain import verify_chain
from tests.db.conftest import T0, Database

# Values COPY's text format must escape (tab, newline, carriage return, backslash), and JSON's (quotes,
# control characters, non-ASCII).
AWKWARD = 'tab\there, line\nbreak, return\r, back\\slash, "quoted", \\N, \x01, åäö, ∑, 🙂'
NAMES = ["alice", "bob", "carol", "d\\ave", "erin\tsmith", "frank\nlee", "gösta"]


class NewUser(NamedTuple):
    """A user to insert, as `UserRepository.insert_users` reads one."""

    name: str
    type: str
    can_log_in: bool = True
    retired: bool = False


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session inside one transaction that is rolled back after the test."""
    connection = database.engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


def _tenant(session: Session, name: str) -> int:
    return TenantRepository(session).add(TenantRow(name=name, generation="11", created_at=T0)).id


def _paths(database: Database) -> list[bool]:
    """The ways to write many rows on this database: COPY (PostgreSQL only) and plain statements."""
    return [True, False] if database.backend == "postgresql" else [False]


def _entries(user_ids: list[int]) -> list[NewEntry]:
    empty = {"plan": None, "licenses": [], "type": "internal", "can_log_in": True, "retired": False}
    held = {**empty, "plan": "sales-premium", "licenses": ["superoffice.quote-cal"]}
    odd = {"note": AWKWARD, "nested": {"list": [1, 2.5, None, True, AWKWARD]}}
    found = []
    for user_id in user_ids:
        found.append(NewEntry("user.add", f"u{user_id}", user_id, None, empty))  # documents shared by many
        found.append(NewEntry("assign", "sales-premium,superoffice.quote-cal", user_id, empty, held))
    found.append(NewEntry("note", AWKWARD, None, odd, {**odd}))  # equal documents that are not the same object
    found.append(NewEntry("seats.set", "sales-premium", None, None, None))
    return found


def _log(session: Session, tenant_id: int) -> list[tuple[Any, ...]]:
    """A tenant's entries as stored, the documents as the column's own text."""
    query = (
        select(
            AuditRow.seq,
            AuditRow.prev_hash,
            AuditRow.hash,
            AuditRow.at,
            AuditRow.actor,
            AuditRow.action,
            AuditRow.subject,
            AuditRow.user_id,
            cast(AuditRow.before, Text),
            cast(AuditRow.after, Text),
            AuditRow.correction,
            AuditRow.before.is_(None),
        )
        .where(AuditRow.tenant_id == tenant_id)
        .order_by(AuditRow.seq)
    )
    return [tuple(row) for row in session.execute(query)]


def _head(session: Session, tenant_id: int) -> tuple[Any, ...]:
    row = session.execute(
        select(TenantRow.log_seq, TenantRow.log_hash, TenantRow.log_at).where(TenantRow.id == tenant_id)
    ).one()
    return tuple(row)


def test_entries_appended_many_at_once_are_the_rows_appended_one_by_one(database: Database, session: Session) -> None:
    owner = _tenant(session, "owner")
    user_ids = UserRepository(session).insert_users(owner, [NewUser(n, "internal") for n in NAMES], created_at=T0)
    entries = _entries(user_ids)
    actor = f"admin {AWKWARD}"
    at = T0 + timedelta(microseconds=123)
    audit = AuditRepository(session)
    reference = _tenant(session, "one-by-one")
    for entry in entries:
        audit.add(reference, at=at, actor=actor, **entry._asdict())  # type: ignore[arg-type]
    session.flush()
    expected = _log(session, reference)
    assert len(expected) == len(entries)
    for copy in _paths(database):
        tenant_id = _tenant(session, f"many-{copy}")
        audit.append_many(tenant_id, at=at, actor=actor, entries=entries, copy=copy)
        assert _log(session, tenant_id) == expected, f"copy={copy}"
        assert _head(session, tenant_id) == _head(session, reference)
        head_seq, head_hash = audit.head(tenant_id)
        assert verify_chain(audit.chain(tenant_id), head_seq=head_seq, head_hash=head_hash).ok


def test_entries_appended_many_at_once_follow_the_entries_before_them(database: Database, session: Session) -> None:
    audit = AuditRepository(session)
    logs = []
    for copy in _paths(database):
        tenant_id = _tenant(session, f"tenant-{copy}")
        audit.add(tenant_id, at=T0, actor="vendor", action="tenant.create", subject="x", after={"generation": "11"})
        audit.append_many(tenant_id, at=T0 + timedelta(days=1), actor="admin", entries=_entries([]), copy=copy)
        audit.append_many(tenant_id, at=T0 + timedelta(days=2), actor="admin", entries=_entries([]), copy=copy)
        session.flush()
        head_seq, head_hash = audit.head(tenant_id)
        assert head_seq == 5
        assert verify_chain(audit.chain(tenant_id), head_seq=head_seq, head_hash=head_hash).ok
        logs.append(_log(session, tenant_id))
    assert all(log == logs[0] for log in logs)


def test_users_plans_and_licenses_written_by_copy_are_the_rows_of_the_plain_statements(
    database: Database, session: Session
) -> None:
    repo = UserRepository(session)
    written = []
    for copy in _paths(database):
        tenant_id = _tenant(session, f"tenant-{copy}")
        users = [
            NewUser(name, "internal" if n % 2 else "external", n % 3 != 0, n % 4 == 0) for n, name in enumerate(NAMES)
        ]
        ids = repo.insert_users(tenant_id, users, created_at=T0, copy=copy)
        assert ids == sorted(ids)
        assert len(set(ids)) == len(NAMES)
        repo.set_plans(tenant_id, dict.fromkeys(ids[:3], f"plan {AWKWARD}"), new=ids, copy=copy)
        repo.add_licenses(tenant_id, [(user_id, f"owner.{AWKWARD}") for user_id in ids[2:5]], copy=copy)
        # A second change replaces a plan, takes one away and gives one to a user without any.
        repo.set_plans(tenant_id, {ids[0]: "sales-premium", ids[1]: None, ids[5]: "sales-essential"}, copy=copy)
        session.expire_all()
        rows = session.execute(
            select(UserRow.id, UserRow.name, UserRow.type, UserRow.can_log_in, UserRow.retired, UserRow.created_at)
            .where(UserRow.tenant_id == tenant_id)
            .order_by(UserRow.id)
        ).all()
        assert [row.id for row in rows] == ids
        by_id = {row.id: row.name for row in rows}
        plans = session.execute(
            select(UserPlanRow.user_id, UserPlanRow.plan_key).where(UserPlanRow.tenant_id == tenant_id)
        ).all()
        licenses = session.execute(
            select(UserLicenseRow.user_id, UserLicenseRow.name).where(UserLicenseRow.tenant_id == tenant_id)
        ).all()
        written.append(
            (
                [tuple(row)[1:] for row in rows],
                sorted((by_id[user_id], key) for user_id, key in plans),
                sorted((by_id[user_id], name) for user_id, name in licenses),
            )
        )
    users, plans, licenses = written[0]
    assert [name for name, *_ in users] == NAMES
    assert plans == sorted(
        [("alice", "sales-premium"), ("carol", f"plan {AWKWARD}"), ("frank\nlee", "sales-essential")]
    )
    assert len(licenses) == 3
    assert all(found == written[0] for found in written)


def test_a_user_name_taken_already_fails_the_insert_with_the_integrity_error_of_a_plain_statement(
    database: Database, session: Session
) -> None:
    tenant_id = _tenant(session, "acme")
    repo = UserRepository(session)
    repo.insert_users(tenant_id, [NewUser("alice", "internal")], created_at=T0)
    for copy in _paths(database):
        with pytest.raises(IntegrityError), session.begin_nested():
            repo.insert_users(
                tenant_id, [NewUser("bob", "internal"), NewUser("alice", "internal")], created_at=T0, copy=copy
            )
    assert [user.name for user in repo.records_by_names(tenant_id, ["alice", "bob"])] == ["alice"]


def test_copy_is_postgresqls_and_refused_on_sqlite(database: Database, session: Session) -> None:
    tenant_id = _tenant(session, "acme")
    repo = UserRepository(session)
    if database.backend == "sqlite":
        with pytest.raises(ValueError, match="COPY"):
            repo.insert_users(tenant_id, [NewUser("alice", "internal")], created_at=T0, copy=True)
    else:
        repo.insert_users(tenant_id, [NewUser("alice", "internal")], created_at=T0, copy=True)
    assert len(repo.records_by_names(tenant_id, ["alice"])) == (database.backend == "postgresql")


def test_the_named_users_are_found_alike_whether_few_or_most_of_a_tenants_users_are_named(session: Session) -> None:
    repo = UserRepository(session)
    tenant_id = _tenant(session, "acme")
    other = _tenant(session, "globex")
    names = [*NAMES, *(f"u{n:05d}" for n in range(6_000))]
    ids = repo.insert_users(tenant_id, [NewUser(name, "internal") for name in names], created_at=T0)
    repo.insert_users(other, [NewUser(name, "internal") for name in names], created_at=T0)
    known = {name: (user_id, name, "internal", True, False) for user_id, name in zip(ids, names, strict=True)}
    # A few names are looked up by name; more than 5,000 that are most of the tenant's users, by reading it whole.
    for asked in (NAMES[:2], [*names[1:5_600], "nobody"]):
        found = repo.records_by_names(tenant_id, asked)
        assert found == sorted(known[name] for name in asked if name in known)
        assert [user.id for user in found] == sorted(row.id for row in repo.by_names(tenant_id, asked))
    assert repo.records_by_names(tenant_id, []) == []
