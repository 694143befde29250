"""What the use cases answer: one frozen pydantic model per shape, field for field and in the order the
answers are written, so the services return typed values and the API answers them as they are.

Times and dates are ISO 8601 text and money is decimal text ("248.86"). A field with a default is
present in an answer only when it was set (`exclude_unset`): the API and `--json` leave it out otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from lisens.service.superoffice_carriers import ModuleLicense


class Read(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, defer_build=True)

    def plain(self) -> dict[str, Any]:
        """The answer as JSON values, keys as the API writes them; fields left at their default unset are left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Written(Read):
    """The answer to a change: it carries the tenant's version after the change, as its `Lisens-Version`
    header does (set by the HTTP edge once the change committed; absent from reads)."""

    version: int | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The tenant's version after this change: send it as a check's `min_version` to read it",
    )


# ---------------------------------------------------------------- grants and decisions


class GrantRead(Read):
    kind: str = Field(description="What grants the license: plan, direct, addon, tenant, …")
    source: str
    text: str


class DecisionRead(Read):
    license: str
    held: bool
    reason: str
    granted_by: list[GrantRead]
    would_grant: list[GrantRead]
    warning: str | None = Field(default=None, description="Present in the grace period: LICENSE_IN_GRACE")


# ---------------------------------------------------------------- changes dated in the future


class ScheduledChangeRead(Read):
    id: int
    operation: str = Field(examples=["tenants.set_seats"])
    params: dict[str, Any]
    effective: str
    requested_at: str
    requested_by: str
    state: Literal["pending", "applied", "failed", "cancelled"]
    done_at: str | None
    outcome: str


class ScheduledRead(Written):
    """The answer of a change the vendor dated in the future: stored, applied at its time."""

    scheduled: ScheduledChangeRead


# ---------------------------------------------------------------- tenants and purchases


class TenantSummaryRead(Read):
    name: str
    generation: str
    company: str
    serial: str


class PartnerLicenseRead(Read):
    type: str
    unrestricted: bool
    description: str


class TenantRead(Written):
    """A tenant; its name is its id in every path."""

    name: str
    generation: str
    company: str
    serial: str
    created_at: str
    owners: list[str]
    seats: dict[str, int] = Field(description="Seats bought, by plan or user license")
    addons: list[str]
    system: list[str] = Field(description="System licenses bought on their own")
    partner_licenses: dict[str, PartnerLicenseRead]
    users: int = Field(description="How many users the tenant has")
    tags: dict[str, str] = Field(default_factory=dict, description="The tenant's labels key=value, by key")


class SeatsLoweringRead(Read):
    effective: str
    number: int


class SeatsRead(Written):
    item: str
    kind: Literal["plan", "license"]
    total: int
    in_use: int
    free: int
    scheduled: SeatsLoweringRead | None = Field(
        default=None, description="Present when a lowering waits for the end of the subscription's term"
    )


class AddonChangeRead(Written):
    addon: str
    changed: bool
    addons: list[str]


class SystemLicenseChangeRead(Written):
    license: str
    changed: bool


class OwnerRead(Written):
    owner: str
    description: str


class PartnerLicenseAddedRead(Written):
    license: str
    type: str
    unrestricted: bool


class PanelOwnerRead(Read):
    name: str
    description: str


class PanelSystemLicenseRead(Read):
    license: str
    description: str
    tooltip: str | None = Field(default=None, description="The catalog's tooltip of the license, when it has one")
    type: str
    hidden: bool
    in_use: bool
    granted_by: list[GrantRead]


class PanelUserLicenseRead(Read):
    item: str
    kind: Literal["plan", "license", "implied"]
    license: str
    description: str
    tooltip: str | None = Field(default=None, description="The catalog's tooltip of the license, when it has one")
    hidden: bool
    unrestricted: bool
    total: int | None = Field(description="null when unrestricted")
    in_use: int
    free: int | None
    over: int


class PanelRead(Read):
    tenant: str
    generation: str
    company: str
    serial: str
    owners: list[PanelOwnerRead]
    system_licenses: list[PanelSystemLicenseRead]
    user_licenses: list[PanelUserLicenseRead]


class AuditEntryRead(Read):
    id: int
    seq: int
    correction: bool
    at: str
    actor: str
    action: str
    user: str | None
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class SeatsUpgradeRead(Written):
    from_plan: str = Field(alias="from")
    to_plan: str = Field(alias="to")
    moved: int
    switched: list[str]


# ---------------------------------------------------------------- subscriptions and invoices


class InvoiceLineRead(Read):
    kind: str
    item: str
    quantity: int
    months: int
    unit_monthly: str
    amount: str
    start: str
    end: str
    note: str


class InvoiceRead(Read):
    number: int | None = Field(description="null until the invoice is issued")
    issued: str
    currency: str
    total: str
    final: bool
    lines: list[InvoiceLineRead]


class TermRead(Read):
    start: str
    end: str


class BillingPeriodRead(Read):
    start: str
    end: str
    months: int


class SubscriptionLicenseRead(Read):
    expiry: str
    grace: str
    admin_warning: str
    status: str


class ScheduledSeatsRead(Read):
    effective: str
    item: str
    number: int


class SubscriptionRead(Written):
    """A tenant's subscription (one per tenant: the tenant's name is its id)."""

    tenant: str
    at: str
    start: str
    billing_period: int
    term: TermRead | None
    current_billing_period: BillingPeriodRead | None
    next_renewal: str | None
    next_billing_period: int | None
    pending_period_change: int | None
    cancelled: str | None
    license: SubscriptionLicenseRead
    scheduled: list[ScheduledSeatsRead]
    upcoming_invoice: InvoiceRead | None


class AppliedLoweringRead(Read):
    effective: str
    item: str
    asked: int
    total: int
    unassign: list[str]
    holders: list[str]


class AppliedMoveRead(Read):
    to: str
    effective: str


class RenewalLicenseRead(Read):
    expiry: str
    status: str


class RenewalRead(Written):
    tenant: str
    at: str
    applied: list[AppliedLoweringRead]
    issued: list[InvoiceRead]
    moved: list[AppliedMoveRead]
    license: RenewalLicenseRead


# ---------------------------------------------------------------- generations and plan limits


class MappingRead(Read):
    description: str
    provenance: str


class MoveSummaryRead(Read):
    users: int
    losing: int
    gaining: int


class UserMoveRead(Read):
    user: str
    from_plan: str | None
    to_plan: str | None
    lost: list[str]
    gained: list[str]
    dropped_direct: list[str]


class SeatMoveRead(Read):
    item: str
    before: int
    after: int


class KeptDroppedRead(Read):
    kept: list[str]
    dropped: list[str]


class MovePreviewRead(Read):
    tenant: str
    from_generation: str = Field(alias="from")
    to: str
    mapping: MappingRead
    tenant_plan: str | None
    summary: MoveSummaryRead
    users: list[UserMoveRead]
    seats: list[SeatMoveRead]
    addons: KeptDroppedRead
    system: KeptDroppedRead


class MoveRead(MovePreviewRead, Written):
    scheduled: str | None = Field(default=None, description="Present when the move waits for the next renewal")
    applied: bool


class MoveRollbackRead(Written):
    tenant: str
    generation: str
    restored_users: int


class MoveReportRead(Read):
    to: str
    tenants: int
    users: int
    users_losing: int
    gained: dict[str, int] = Field(description="Users gaining each license, most first")
    lost: dict[str, int] = Field(description="Users losing each license, most first")


class TagsRead(Written):
    """A tenant's labels after a change (or as they are)."""

    tenant: str
    tags: dict[str, str] = Field(description="key=value, by key")
    changed: bool = Field(default=False, description="Whether the request changed anything")


class PlanBlockerRead(Read):
    kind: Literal["plan-limit", "no-counterpart", "no-price", "currency"]
    item: str = Field(description="The metric, license, add-on or plan concerned")
    detail: str


class MovePlanTenantRead(Read):
    """One tenant of a move plan: where it lands, what it pays, who loses and gains what, what blocks it."""

    tenant: str
    from_generation: str = Field(alias="from")
    to: str
    tenant_plan: str | None = Field(description="CRM Suite: the one plan of the whole tenant")
    users: int
    subscribed: bool = Field(description="False: no subscription; seats counted at list price, monthly")
    billing_period: int = Field(description="Months per invoice (1 without a subscription)")
    currency_before: str
    currency: str
    seats_before: dict[str, int]
    seats_after: dict[str, int]
    monthly_before: str
    monthly_after: str
    yearly_before: str
    yearly_after: str
    per_period_before: str
    per_period_after: str
    yearly_change: str
    lose: dict[str, list[str]] = Field(description="Per license, the users who lose it (sorted)")
    gain: dict[str, list[str]] = Field(description="Per license, the users who gain it (sorted)")
    blockers: list[PlanBlockerRead]


class LicenseCountRead(Read):
    license: str
    users: int
    tenants: int


class ChangeBandRead(Read):
    """Tenants whose yearly change falls in [low, high) (the last band includes `high`)."""

    low: str
    high: str
    tenants: int


class MovePlanSummaryRead(Read):
    tenants: int
    users: int
    blocked: int = Field(description="Tenants with at least one blocker")
    currency: str
    monthly_before: str
    monthly_after: str
    yearly_before: str
    yearly_after: str
    yearly_change: str
    pay_more: int
    pay_less: int
    pay_same: int
    lose: list[LicenseCountRead] = Field(description="N users in M tenants lose the license; most users first")
    gain: list[LicenseCountRead]
    changes: list[ChangeBandRead] = Field(
        description="The tenants by yearly change: 8 bands of equal width from the lowest change to the highest "
        "(one band when all change alike; none for no tenant)"
    )


class MovePlanSelectionRead(Read):
    """Which tenants a move plan takes: every condition given must hold."""

    generation: str | None = None
    renewal_month: str | None = Field(default=None, description="YYYY-MM of the next renewal")
    min_users: int | None = None
    max_users: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    tenants: list[str] = Field(default_factory=list)
    sample: float | None = Field(default=None, description="Percentage of the tenants, chosen by `seed`")
    seed: int | None = None


class MovePlanRead(Read):
    """A move of a cohort of tenants, planned: nothing is changed. The summary covers every tenant; `tenants`
    has every tenant's row too, except in an overview (the panel, the command line's table), which keeps a
    bounded number of them (`summary.tenants` says how many there are)."""

    to: str
    prices: str = Field(description="Where the target's prices come from")
    example_prices: bool
    selection: MovePlanSelectionRead
    summary: MovePlanSummaryRead
    tenants: list[MovePlanTenantRead]
    skipped: dict[str, str] = Field(description="Selected tenants that cannot move to the target, and why")


class SavedMovePlanRead(Read):
    """A cohort move plan kept under a name: the selection, the target and the price list it is priced with."""

    name: str
    to: str
    selection: MovePlanSelectionRead
    prices: str | None = Field(description="The price list given for the plan; null: the installed one")
    created_at: str
    created_by: str


WaveTenantState = Literal["scheduled", "moved", "blocked", "rolled-back", "cancelled"]


class WaveCountsRead(Read):
    """How many of a wave's tenants are in each state."""

    scheduled: int
    moved: int
    blocked: int
    rolled_back: int = Field(alias="rolled-back")
    cancelled: int


class WaveTenantRead(Read):
    """One tenant of a wave: when it moves, and how its move went."""

    tenant: str
    state: WaveTenantState
    effective: str | None = Field(description="The day it moves (its next renewal, or the wave's date)")
    from_generation: str = Field(alias="from")
    to: str
    generation: str = Field(description="The tenant's generation now")
    reason: str = Field(description="Why a blocked tenant was not moved: plan-limit, no-counterpart, …")
    detail: str
    done_at: str | None


class WaveRead(Read):
    """A wave of moves: the selected tenants of a plan, each moved at its next renewal or on one date."""

    id: int
    plan: str | None = Field(description="The saved plan the wave was made from, if any")
    to: str
    at: str = Field(description="`renewal`, or the date every tenant moves on", examples=["renewal", "2027-03-01"])
    status: Literal["active", "paused", "cancelled"]
    finished: bool = Field(description="No tenant is left scheduled")
    selection: MovePlanSelectionRead
    prices: str | None
    created_at: str
    created_by: str
    changed_at: str
    counts: WaveCountsRead


class WaveReportRead(WaveRead):
    """A wave with one row per tenant (by name)."""

    tenants: list[WaveTenantRead]


class GenerationTotalsRead(Read):
    tenants: list[str]
    seats: dict[str, int]
    users: int


class GenerationsReportRead(RootModel[dict[str, GenerationTotalsRead]]):
    """Per packaging generation: its tenants, their seats per plan or license, and their users."""

    model_config = ConfigDict(frozen=True, defer_build=True)


class MetricRead(Written):
    metric: str
    name: str
    ActiveCount: int
    Maximum: int = Field(description="-1: unlimited")
    IsNearingMaximum: bool
    HasReachedMaximum: bool
    WarningMessage: str | None


class FencingRead(Read):
    tenant: str
    generation: str
    plan: str | None
    metrics: list[MetricRead]


class TenantPlanChangeRead(Written):
    tenant: str
    plan: str
    from_plan: str | None = Field(default=None, alias="from", description="Present when the plan changed")
    changed: bool
    seats: int | None = Field(default=None, description="Present when the plan changed")


# ---------------------------------------------------------------- signed packages and snapshots


class SignatureRead(Read):
    algorithm: str
    key_id: str
    value: str


class PackageLicenseRead(Read):
    """SuperOffice's LicenseInfo as the package carries it: dates as text, no PublicKey or Signature."""

    CompanyName: str | None
    SerialNr: str | None
    OwnerName: str | None
    OwnerDescription: str | None
    NextCheckDate: str | None
    MaintenanceDate: str | None
    AdminWarningDate: str | None
    ExpiryDate: str | None
    GraceDate: str | None
    ExtraFlags: int
    ExtraInfo: str | None
    LicenseUrl: str | None
    LicenseVersion: str | None
    DeploymentType: int
    ProductType: str | None
    ProductDescription: str | None
    ModuleLicenses: list[ModuleLicense]


class PackagePurchasesRead(Read):
    seats: dict[str, int]
    addons: list[str]
    system: list[str]


class PackageRead(Written):
    """A signed license package; its `sequence` numbers it within the tenant."""

    format: str
    tenant: str
    generation: str
    sequence: int
    issued_at: str
    not_before: str
    not_after: str
    lowering: Literal["now", "term_end"]
    license: PackageLicenseRead
    purchases: PackagePurchasesRead
    signature: SignatureRead


class ModuleChangeRead(Read):
    from_number: int = Field(alias="from")
    to_number: int = Field(alias="to")


class PackageChangesRead(Read):
    added: list[str]
    removed: list[str]
    changed: dict[str, ModuleChangeRead]


class SuperfluousRead(Read):
    item: str
    in_use: int
    new_total: int
    remove: int
    holders: list[str]


class PackageActivationRead(Written):
    tenant: str
    sequence: int
    changes: PackageChangesRead
    superfluous: list[SuperfluousRead]
    scheduled: list[ScheduledSeatsRead]
    activated: bool


class SnapshotLicenseRead(Read):
    expiry: str
    grace: str
    status: str


class SnapshotRead(Read):
    """A signed, time-limited snapshot for `lisens.offline`."""

    format: str
    tenant: str
    generation: str
    issued_at: str
    expires_at: str
    license: SnapshotLicenseRead | None
    users: dict[str, list[str]] = Field(description="Every user's effective module licenses")
    signature: SignatureRead


# ---------------------------------------------------------------- users and assignments


class UserSummaryRead(Read):
    user: str
    id: int = Field(description="The associate id (the SuperOffice routes take it)")
    type: str
    can_log_in: bool
    retired: bool
    plan: str | None


class UserStateRead(Read):
    plan: str | None
    licenses: list[str] = Field(description="User licenses assigned directly")
    type: str
    can_log_in: bool
    retired: bool


class UserCreatedRead(Written):
    user: str
    id: int = Field(description="The associate id (the SuperOffice routes take it)")
    plan: str | None
    licenses: list[str]
    type: str
    can_log_in: bool
    retired: bool


class EffectiveLicenseRead(Read):
    license: str
    type: str
    description: str
    tooltip: str | None = Field(default=None, description="The catalog's tooltip of the license, when it has one")
    hidden: bool
    granted_by: list[GrantRead]


class UserRead(Read):
    user: str
    id: int = Field(description="The associate id (the SuperOffice routes take it)")
    tenant: str
    plan: str | None
    licenses: list[str] = Field(description="User licenses assigned directly")
    type: str
    can_log_in: bool
    retired: bool
    effective: list[EffectiveLicenseRead] = Field(description="What the user holds now (nothing outside the term)")
    warning: str | None = Field(description="LICENSE_IN_GRACE between expiry and grace, else null")


class HoldingsRead(Read):
    """What a user held at a past time, rebuilt from the audit log."""

    tenant: str
    user: str
    at: str
    plan: str | None
    direct: list[str]
    retired: bool
    licenses: list[str]
    as_of_entries: list[int] = Field(description="The audit entries the answer was rebuilt from")


class UserChangeRead(Written):
    user: str
    before: UserStateRead
    after: UserStateRead


class AssignmentRead(UserChangeRead):
    changed: bool


class BulkFailureRead(Read):
    line: int
    user: str
    code: str
    message: str


class BulkRead(Written):
    rows: int
    applied: int
    failed: list[BulkFailureRead]
    partial: bool


# ---------------------------------------------------------------- tokens


class TokenRead(Read):
    id: int
    prefix: str
    role: Literal["vendor", "admin", "app"]
    tenant: str | None
    user: str | None
    description: str
    created_at: str
    revoked_at: str | None


class TokenRevokedRead(Written):
    id: int
    revoked_at: str | None


# ---------------------------------------------------------------- the demo tenant


@dataclass(frozen=True)
class Demo:
    """The demo tenant: whether it was created now, and fresh tokens (plain text, shown once) by role."""

    tenant: str
    created: bool
    tokens: dict[str, str]


# ---------------------------------------------------------------- the change feed


class EventRead(Read):
    """One change of a tenant as an event (docs/events.md)."""

    id: str = Field(description="`tenant:seq`, also the SSE event id")
    type: str = Field(description="The event type (docs/events.md), e.g. `assignment.created`")
    tenant: str
    seq: int = Field(description="The entry's gap-free sequence number in the tenant's log")
    at: str
    actor: str
    action: str = Field(description="The log entry's action the type is mapped from")
    subject: str
    user: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correction: bool
    cursor: int = Field(description="Pass as `after` (or `Last-Event-ID`) to read on from this event")


class LogHeads(Read):
    """Where the logs stand: each named tenant's last sequence number, and the last entry id of any tenant."""

    tenants: dict[str, int]
    last_id: int


class WebhookRead(Read):
    id: int
    tenant: str | None = Field(description="None: the vendor's, for every tenant")
    url: str
    event_types: list[str] = Field(description="Types or patterns (`assignment.*`); empty: every event")
    description: str
    enabled: bool
    created_at: str
    created_by: str
    secret: str | None = Field(description="The `whsec_` signing secret: only in the answer that created it")


class DeliveryRead(Read):
    id: int
    webhook: int
    tenant: str | None
    seq: int
    type: str
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt and replay")
    state: Literal["pending", "delivered", "dead", "replaced"]
    attempts: int
    created_at: str | None
    next_attempt_at: str | None
    last_attempt_at: str | None
    done_at: str | None
    last_status: int | None
    last_error: str
    replay: bool


class ReplayRead(Read):
    webhook: int
    from_seq: int = Field(alias="from")
    streams: int
