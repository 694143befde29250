"""SQLAlchemy 2 models: tenants, their purchases, users, assignments and the append-only audit log.

Portable types only (the same migrations run on SQLite and PostgreSQL). License names are stored
as canonical full names (`superoffice.quote-cal`); plan keys as canonical keys (`a+b` for combined).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantRow(Base):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    generation: Mapped[str] = mapped_column(String(20))
    company: Mapped[str] = mapped_column(String(254), default="")
    serial: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Bumped by every change to the tenant's licensing, in the same transaction: a cache of
    # effective licenses is valid while the version it was computed at is current.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The head of the tenant's audit log: its last sequence number, hash and time. Changed only
    # under the tenant's lock, in the transaction that appends the entry.
    log_seq: Mapped[int] = mapped_column(Integer, default=0)
    log_hash: Mapped[str] = mapped_column(String(64), default="")
    log_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # License packages only move forward: the last sequence number issued and the one active.
    package_issued: Mapped[int] = mapped_column(Integer, default=0)
    package_active: Mapped[int] = mapped_column(Integer, default=0)
    # When the first of the vendor's scheduled changes falls due (None: none is pending), so that a
    # change need not look for due ones unless there are some.
    next_change_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OwnerRow(Base):
    """A partner license owner of a tenant (SUPEROFFICE is implicit)."""

    __tablename__ = "license_owner"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # upper case
    description: Mapped[str] = mapped_column(String(254), default="")


class PartnerLicenseRow(Base):
    """A module license of a partner owner, defined per tenant."""

    __tablename__ = "partner_license"
    __table_args__ = (UniqueConstraint("tenant_id", "full_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("license_owner.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(String(350))
    type: Mapped[str] = mapped_column(String(10))  # system | user
    description: Mapped[str] = mapped_column(String(254), default="")
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)


class SeatRow(Base):
    """How many of a plan (or combined plan) or a user license the tenant bought."""

    __tablename__ = "seat"
    __table_args__ = (UniqueConstraint("tenant_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # plan | license
    item: Mapped[str] = mapped_column(String(350))  # plan key or canonical license name
    number: Mapped[int] = mapped_column(Integer)


class SystemLicenseRow(Base):
    """A system license the tenant bought on its own (not through a plan or an add-on)."""

    __tablename__ = "system_license"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(350))


class AddonRow(Base):
    __tablename__ = "addon"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))


class UserRow(Base):
    """An associate of a tenant."""

    __tablename__ = "tenant_user"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(254))
    type: Mapped[str] = mapped_column(String(20))  # internal | resource | external | anonymous | system
    can_log_in: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserPlanRow(Base):
    """The one plan license a user holds (a combined key for a multi-plan user)."""

    __tablename__ = "user_plan"
    __table_args__ = (UniqueConstraint("user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("tenant_user.id", ondelete="CASCADE"))
    plan_key: Mapped[str] = mapped_column(String(350), index=True)


class UserLicenseRow(Base):
    """A user license assigned to a user directly."""

    __tablename__ = "user_license"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("tenant_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(350), index=True)


class AuditRow(Base):
    """Append-only: one row per change, written in the change's own transaction.

    Each tenant's entries are numbered 1, 2, 3, ... in commit order (`seq`, taken under the tenant's
    lock) and hash-chained; entries without a tenant form the vendor's own log (tokens).
    """

    __tablename__ = "audit"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # A vendor's explicit correction: the change was recorded with a time the caller gave.
    correction: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("tenant_user.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(350), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VendorLogRow(Base):
    """The head of the vendor's own log (entries with no tenant): one row, locked to append."""

    __tablename__ = "vendor_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TokenRow(Base):
    """An API bearer token: only its SHA-256 hash is stored. No tenant means the vendor role."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in lists
    role: Mapped[str] = mapped_column(String(10))  # vendor | admin | app
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("tenant_user.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SubscriptionRow(Base):
    """A tenant's subscription: the 12-month contract from `start`, billed every `period` months."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    start: Mapped[date] = mapped_column(Date)
    period: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PeriodChangeRow(Base):
    """A new billing period asked for on `requested`; in force from the next renewal."""

    __tablename__ = "period_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    requested: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)


class ScheduledSeatsRow(Base):
    """A lowering of seats (or a downgrade) waiting for the end of the current term."""

    __tablename__ = "scheduled_seats"
    __table_args__ = (UniqueConstraint("tenant_id", "effective", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    effective: Mapped[date] = mapped_column(Date)
    item: Mapped[str] = mapped_column(String(350))
    number: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScheduledChangeRow(Base):
    """A vendor's change dated in the future: kept until its time, then applied as if made then."""

    __tablename__ = "scheduled_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    effective: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    operation: Mapped[str] = mapped_column(String(100))  # e.g. tenants.set_seats
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(20))  # pending | applied | failed | cancelled
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(1000), default="")


class InvoiceRow(Base):
    """An issued invoice, kept as issued. Money in cents."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("tenant_id", "issued"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    issued: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageRow(Base):
    """How much of a limited thing (dashboards, active projects, …) a tenant uses, as last reported."""

    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("tenant_id", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(100))
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TenantTagRow(Base):
    """A tenant's label `key=value` (segment, country, partner, …): one value per key."""

    __tablename__ = "tenant_tag"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), Index("ix_tenant_tag_key_value", "key", "value"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(50))
    value: Mapped[str] = mapped_column(String(200))


class GenerationMoveRow(Base):
    """A move of a tenant to another packaging generation, with everything needed to roll it back."""

    __tablename__ = "generation_migration"  # the table's first name, kept so databases need no rewrite

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    from_generation: Mapped[str] = mapped_column(String(20))
    to_generation: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # scheduled | applied | rolled-back
    effective: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SavedMovePlanRow(Base):
    """A cohort move plan kept under a name: its selection, target generation and price list, to run as waves."""

    __tablename__ = "saved_move_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    to_generation: Mapped[str] = mapped_column(String(20))
    selection: Mapped[dict[str, Any]] = mapped_column(JSON)
    prices: Mapped[str | None] = mapped_column(String(500))  # the price list's name; None: the installed one
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(254))


class MoveWaveRow(Base):
    """A wave: the selected tenants of a cohort, each moved at its next renewal or on one date."""

    __tablename__ = "move_wave"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str | None] = mapped_column(String(100))  # the saved plan's name, when made from one
    to_generation: Mapped[str] = mapped_column(String(20))
    selection: Mapped[dict[str, Any]] = mapped_column(JSON)
    prices: Mapped[str | None] = mapped_column(String(500))
    at_renewal: Mapped[bool] = mapped_column(Boolean)
    on: Mapped[date | None] = mapped_column(Date)  # the date every tenant moves on (not at_renewal)
    status: Mapped[str] = mapped_column(String(20))  # active | paused | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(254))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MoveWaveTenantRow(Base):
    """One tenant of a wave and the outcome of its move: scheduled, moved, blocked, rolled-back, cancelled."""

    __tablename__ = "move_wave_tenant"
    __table_args__ = (
        UniqueConstraint("wave_id", "tenant_id"),
        Index("ix_move_wave_tenant_state_effective", "state", "effective"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("move_wave.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    effective: Mapped[date | None] = mapped_column(Date)  # when it moves; None when blocked before it had one
    from_generation: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(50), default="")  # a blocked tenant's reason code
    detail: Mapped[str] = mapped_column(String(1000), default="")
    move_id: Mapped[int | None] = mapped_column(Integer)  # the applied move (generation_migration.id)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PanelSessionRow(Base):
    """A log-in to the web panel. The cookie carries the session id; only its SHA-256 hash is stored.

    Log-out sets `ended_at`: the cookie stops working at once, in every worker, even if it was copied.
    """

    __tablename__ = "panel_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServerSecretRow(Base):
    """A secret the server makes once and every worker shares (the panel's cookie-signing key)."""

    __tablename__ = "server_secret"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookRow(Base):
    """An endpoint that receives the change feed: of one tenant, or of every tenant (the vendor's)."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(254), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(254))


class WebhookStreamRow(Base):
    """How far one endpoint has taken one tenant's log: `position` is the last sequence number turned into
    a delivery (or passed over by the endpoint's filter). One open delivery per stream keeps the order."""

    __tablename__ = "webhook_stream"
    __table_args__ = (UniqueConstraint("webhook_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryRow(Base):
    """One event sent to one endpoint: pending (with its next attempt), delivered, or dead after 24 hours."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(12), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    replay: Mapped[bool] = mapped_column(Boolean, default=False)


class IdempotencyRow(Base):
    """The first answer to a write sent with an `Idempotency-Key`, kept 24 hours for its retries."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    status: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
