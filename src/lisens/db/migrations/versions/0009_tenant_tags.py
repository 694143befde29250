"""tenant tags: key=value labels (segment, country, partner, …) to select tenants by

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_tenant_tag_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_tag")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_tenant_tag_tenant_id_key")),
    )
    with op.batch_alter_table("tenant_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_tag_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_tenant_tag_key_value", ["key", "value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tenant_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_tenant_tag_key_value")
        batch_op.drop_index(batch_op.f("ix_tenant_tag_tenant_id"))
    op.drop_table("tenant_tag")
