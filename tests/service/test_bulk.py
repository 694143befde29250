"""A bulk writes what the same changes made one by one write: users, plans, licenses and log entries."""

from __future__ import annotations

from typing import Any

from lisens.service import audit, bulk, users
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

SEATS = {"sales-premium": 10, "sales-essential": 10}
ROWS = [
    # user, plans, licenses
    ("alice", ("sales-premium",), ()),  # exists, holds nothing
    ("bob", ("sales-essential",), ()),  # exists, holds sales-premium: replaced
    ("erin", ("sales-premium",), ("superoffice.visible-for",)),  # created
    ("frank", ("sales-essential",), ()),  # created
    ("gina", ("sales-premium",), ()),  # created
    ("erin", ("sales-essential",), ()),  # created above, changed again
    ("carol", (), ("superoffice.visible-for",)),  # exists, a license only
]


def _entries(ctx: Context, tenant: str) -> list[tuple[Any, ...]]:
    """The tenant's log after it was made: who, what, and the snapshots before and after."""
    return [
        (entry.action, entry.user, entry.subject, entry.before, entry.after)
        for entry in audit.audit_log(ctx, tenant)
        if entry.action in ("user.add", "assign")
    ]


def _holdings(ctx: Context, tenant: str) -> dict[str, tuple[str | None, list[str], str, bool]]:
    found = {}
    for summary in users.list_users(ctx, tenant):
        user = users.show_user(ctx, tenant, summary.user)
        found[user.user] = (user.plan, user.licenses, user.type, user.can_log_in)
    return found


def test_a_bulk_writes_the_entries_and_holdings_of_the_same_changes_made_one_by_one(ctx: Context) -> None:
    for tenant in ("one-by-one", "bulk"):
        make_tenant(ctx, tenant, seats=SEATS, people=("alice", "bob", "carol"))
        users.assign(ctx, tenant, "bob", plans=["sales-premium"], at=T0)
    for user, plans, licenses in ROWS:
        if user not in _holdings(ctx, "one-by-one"):
            users.add_user(ctx, "one-by-one", user, at=T0)
        users.assign(ctx, "one-by-one", user, plans=list(plans), licenses=list(licenses), at=T0)
    rows = [bulk.BulkRow(n, user, plans, licenses, "internal") for n, (user, plans, licenses) in enumerate(ROWS, 2)]
    report = bulk.bulk_assign(ctx, "bulk", rows, create_users=True, at=T0)
    assert report.applied == len(ROWS)
    ctx.session.expire_all()
    assert _entries(ctx, "bulk") == _entries(ctx, "one-by-one")
    assert _holdings(ctx, "bulk") == _holdings(ctx, "one-by-one")
    assert audit.verify_log(ctx, "bulk").ok
    assert audit.verify_log(ctx, "one-by-one").ok


def test_a_prepared_bulk_committed_writes_what_a_bulk_assigned_at_once_writes(ctx: Context) -> None:
    rows = [bulk.BulkRow(n, user, plans, licenses, "internal") for n, (user, plans, licenses) in enumerate(ROWS, 2)]
    for tenant in ("at-once", "prepared"):
        make_tenant(ctx, tenant, seats=SEATS, people=("alice", "bob", "carol"))
        users.assign(ctx, tenant, "bob", plans=["sales-premium"], at=T0)
    bulk.bulk_assign(ctx, "at-once", rows, create_users=True, at=T0)
    prepared = bulk.prepare(ctx, "prepared", rows, create_users=True)
    bulk.commit(ctx, prepared, at=T0)
    ctx.session.expire_all()
    assert _entries(ctx, "prepared") == _entries(ctx, "at-once")
    assert _holdings(ctx, "prepared") == _holdings(ctx, "at-once")
    assert audit.verify_log(ctx, "prepared").ok
