"""audit log in commit order with a hash chain; the vendor's log; package sequence numbers

Existing entries are numbered per tenant in the order they were recorded (time, then id) and
chained, so a database upgraded from 0004 verifies like one created new.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from lisens.domain.auditchain import GENESIS, Entry, entry_hash

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def upgrade() -> None:
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("log_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("log_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("package_issued", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("package_active", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("correction", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column("tenant_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "vendor_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_log")),
    )
    _backfill()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_tenant_id_seq"), ["tenant_id", "seq"])
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.alter_column("log_seq", server_default=None)
        batch_op.alter_column("log_hash", server_default=None)
        batch_op.alter_column("package_issued", server_default=None)
        batch_op.alter_column("package_active", server_default=None)
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.alter_column("correction", server_default=None)


def _backfill() -> None:
    connection = op.get_bind()
    audit = sa.table(
        "audit",
        sa.column("id", sa.Integer),
        sa.column("tenant_id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("subject", sa.String),
        sa.column("user_id", sa.Integer),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
        sa.column("seq", sa.Integer),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    tenant = sa.table(
        "tenant",
        sa.column("id", sa.Integer),
        sa.column("log_seq", sa.Integer),
        sa.column("log_hash", sa.String),
        sa.column("log_at", sa.DateTime(timezone=True)),
    )
    heads: dict[int, tuple[int, str, datetime]] = {}
    rows = connection.execute(sa.select(audit).order_by(audit.c.tenant_id, audit.c.at, audit.c.id)).all()
    for row in rows:
        seq, prev, _ = heads.get(row.tenant_id, (0, GENESIS, _utc(row.at)))
        entry = Entry(
            seq=seq + 1,
            at=_utc(row.at),
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            user_id=row.user_id,
            before=row.before,
            after=row.after,
            correction=False,
            prev_hash=prev,
        )
        digest = entry_hash(entry)
        connection.execute(
            sa.update(audit).where(audit.c.id == row.id).values(seq=entry.seq, prev_hash=prev, hash=digest)
        )
        heads[row.tenant_id] = (entry.seq, digest, entry.at)
    for tenant_id, (seq, digest, at) in heads.items():
        connection.execute(
            sa.update(tenant).where(tenant.c.id == tenant_id).values(log_seq=seq, log_hash=digest, log_at=at)
        )


def downgrade() -> None:
    op.drop_table("vendor_log")
    op.execute("DELETE FROM audit WHERE tenant_id IS NULL")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_tenant_id_seq"), type_="unique")
        batch_op.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("correction")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_column("package_active")
        batch_op.drop_column("package_issued")
        batch_op.drop_column("log_at")
        batch_op.drop_column("log_hash")
        batch_op.drop_column("log_seq")
