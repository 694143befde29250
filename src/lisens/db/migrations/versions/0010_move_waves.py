"""move waves: saved cohort move plans, waves of tenants moved at renewal or on a date, and their outcomes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_move_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("to_generation", sa.String(length=20), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("prices", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_move_plan")),
        sa.UniqueConstraint("name", name=op.f("uq_saved_move_plan_name")),
    )
    op.create_table(
        "move_wave",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=100), nullable=True),
        sa.Column("to_generation", sa.String(length=20), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("prices", sa.String(length=500), nullable=True),
        sa.Column("at_renewal", sa.Boolean(), nullable=False),
        sa.Column("on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_wave")),
    )
    op.create_table(
        "move_wave_tenant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("from_generation", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("move_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_move_wave_tenant_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["move_wave.id"], name=op.f("fk_move_wave_tenant_wave_id_move_wave"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_wave_tenant")),
        sa.UniqueConstraint("wave_id", "tenant_id", name=op.f("uq_move_wave_tenant_wave_id_tenant_id")),
    )
    with op.batch_alter_table("move_wave_tenant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_move_wave_tenant_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_move_wave_tenant_wave_id"), ["wave_id"], unique=False)
        batch_op.create_index("ix_move_wave_tenant_state_effective", ["state", "effective"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("move_wave_tenant", schema=None) as batch_op:
        batch_op.drop_index("ix_move_wave_tenant_state_effective")
        batch_op.drop_index(batch_op.f("ix_move_wave_tenant_wave_id"))
        batch_op.drop_index(batch_op.f("ix_move_wave_tenant_tenant_id"))
    op.drop_table("move_wave_tenant")
    op.drop_table("move_wave")
    op.drop_table("saved_move_plan")
