"""A tenant of 100,000 users on PostgreSQL: moved, rolled back, reported and snapshotted, with no
statement carrying more parameters than PostgreSQL allows (65,535)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select

from lisens.db.engine import make_session_factory
from lisens.db.models import AuditRow, UserPlanRow, UserRow
from lisens.service import moves, packages, tenants
from lisens.service.context import Context
from lisens.service.state import load_state
from tests.db.conftest import BACKENDS, T0, Database, create_database, drop_database, later

USERS = 100_000
PLANS = ["sales-essential", "sales-premium", "service-premium", "sales-premium+service-essential"]

pytestmark = [
    pytest.mark.large,
    pytest.mark.skipif("postgresql" not in BACKENDS, reason="the parameter limit is PostgreSQL's"),
]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Context]]:
    """A PostgreSQL database with one generation 11 tenant of 100,000 users (inserted set-based)."""
    database, token = create_database("postgresql", Path(tmp_path_factory.mktemp("big")))
    session = make_session_factory(database.engine)()
    ctx = Context(session=session, actor="test", clock=later, may_correct=True)
    tenants.create_tenant(ctx, name="big", generation="11", at=T0)
    for plan in PLANS:
        tenants.set_seats(ctx, "big", plan, USERS, at=T0)
    tenant_id = load_state(ctx, "big").id
    session.execute(
        insert(UserRow),
        [
            {"tenant_id": tenant_id, "name": f"u{n:06d}", "type": "internal", "can_log_in": True, "created_at": T0}
            for n in range(USERS)
        ],
    )
    ids = session.scalars(select(UserRow.id).where(UserRow.tenant_id == tenant_id).order_by(UserRow.id)).all()
    session.execute(
        insert(UserPlanRow),
        [
            {"tenant_id": tenant_id, "user_id": user_id, "plan_key": PLANS[n % len(PLANS)]}
            for n, user_id in enumerate(ids)
        ],
    )
    session.commit()
    yield database, ctx
    session.close()
    drop_database(database, token)


def test_a_tenant_of_100000_users_is_previewed_moved_and_rolled_back(big: tuple[Database, Context]) -> None:
    _, ctx = big
    view = moves.preview(ctx, "big", to="suite")
    assert view.summary.users == USERS
    applied = moves.apply(ctx, "big", to="suite", at=T0 + timedelta(days=1))
    assert applied.applied is True
    plans = ctx.session.execute(select(UserPlanRow.plan_key, func.count()).group_by(UserPlanRow.plan_key)).all()
    assert sum(count for _, count in plans) == USERS
    assert {key for key, _ in plans} == {view.tenant_plan}
    audit_after_apply = ctx.session.scalar(select(func.count()).select_from(AuditRow))
    rolled = moves.rollback(ctx, "big", at=T0 + timedelta(days=2))
    assert rolled.restored_users == USERS
    restored = dict(
        ctx.session.execute(select(UserPlanRow.plan_key, func.count()).group_by(UserPlanRow.plan_key)).all()
    )
    assert restored == {plan: USERS // len(PLANS) for plan in PLANS}
    # Every user's change is in the audit log: one snapshot per user for the move back.
    assert (ctx.session.scalar(select(func.count()).select_from(AuditRow)) or 0) - (audit_after_apply or 0) > USERS
    ctx.session.rollback()


def test_a_tenant_of_100000_users_is_reported(big: tuple[Database, Context]) -> None:
    _, ctx = big
    report = tenants.generation_report(ctx)
    assert report.root["11"].users == USERS
    assert report.root["11"].tenants == ["big"]
    report = moves.report(ctx, to="suite")
    assert (report.tenants, report.users) == (1, USERS)
    assert tenants.show_tenant(ctx, "big").users == USERS
    ctx.session.rollback()


def test_a_snapshot_of_a_tenant_of_100000_users_lists_every_user(big: tuple[Database, Context]) -> None:
    _, ctx = big
    snapshot = packages.issue_snapshot(ctx, "big", Ed25519PrivateKey.generate(), at=T0, ttl=timedelta(hours=1))
    assert len(snapshot["users"]) == USERS
    assert "superoffice.sale-cal" in snapshot["users"]["u000001"]  # sales-premium
    ctx.session.rollback()
