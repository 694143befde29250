"""Answers of the own /v1 API: one pydantic model per shape, so the OpenAPI document describes every success
answer. The answers of the use cases are the services' own models (`lisens.service.results`), re-exported
here; the catalog's views and the readiness probe are described here.

Times and dates are ISO 8601 text (as the services write them) and money is decimal text ("248.86").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lisens.service.results import (
    AddonChangeRead,
    AppliedLoweringRead,
    AppliedMoveRead,
    AssignmentRead,
    AuditEntryRead,
    BillingPeriodRead,
    BulkFailureRead,
    BulkRead,
    DeliveryRead,
    EffectiveLicenseRead,
    EventRead,
    FencingRead,
    GenerationsReportRead,
    GenerationTotalsRead,
    GrantRead,
    HoldingsRead,
    InvoiceLineRead,
    InvoiceRead,
    KeptDroppedRead,
    LogHeads,
    MappingRead,
    MetricRead,
    ModuleChangeRead,
    MovePlanRead,
    MovePlanSelectionRead,
    MovePlanSummaryRead,
    MovePlanTenantRead,
    MovePreviewRead,
    MoveRead,
    MoveReportRead,
    MoveRollbackRead,
    MoveSummaryRead,
    OwnerRead,
    PackageActivationRead,
    PackageChangesRead,
    PackageLicenseRead,
    PackagePurchasesRead,
    PackageRead,
    PanelOwnerRead,
    PanelRead,
    PanelSystemLicenseRead,
    PanelUserLicenseRead,
    PartnerLicenseAddedRead,
    PartnerLicenseRead,
    RenewalLicenseRead,
    RenewalRead,
    ReplayRead,
    SavedMovePlanRead,
    ScheduledChangeRead,
    ScheduledRead,
    ScheduledSeatsRead,
    SeatMoveRead,
    SeatsLoweringRead,
    SeatsRead,
    SeatsUpgradeRead,
    SignatureRead,
    SnapshotLicenseRead,
    SnapshotRead,
    SubscriptionLicenseRead,
    SubscriptionRead,
    SuperfluousRead,
    SystemLicenseChangeRead,
    TagsRead,
    TenantPlanChangeRead,
    TenantRead,
    TenantSummaryRead,
    TermRead,
    TokenRead,
    TokenRevokedRead,
    UserChangeRead,
    UserCreatedRead,
    UserMoveRead,
    UserRead,
    UserStateRead,
    UserSummaryRead,
    WaveCountsRead,
    WaveRead,
    WaveReportRead,
    WaveTenantRead,
    WebhookRead,
)


class Read(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# ---------------------------------------------------------------- catalog


class ProvenanceRead(Read):
    kind: Literal["documented", "derived"]
    source: str


class GenerationRead(Read):
    key: str
    name: str
    description: str
    plans: list[str]
    combinations: bool = Field(description="Whether users may hold a combination of plans")
    addons: list[str]
    licenses: int = Field(description="How many module licenses the generation has")
    features: int = Field(description="How many features the generation describes")
    tenant_system: list[str]
    provenance: ProvenanceRead


class PlanRead(Read):
    key: str
    name: str
    description: str
    generation: str
    plan_license: str
    plan_license_full: str
    extra_flags: int
    extra_info: str
    solution: str | None
    tier: str | None
    parts: list[str]
    combined: bool
    unrestricted: bool
    system: list[str]
    user: list[str]
    licenses: list[str] = Field(description="Every module license the plan gives a user, hidden ones too")
    provenance: ProvenanceRead


class LicenseRead(Read):
    name: str
    full_name: str
    owner: str
    type: str
    api_type: str
    description: str
    tooltip: str | None
    hidden: bool
    unrestricted: bool
    prerequisite: str | None
    allowed_user_types: list[str]
    extra_flags: int
    extra_info: str | None
    sort_order: int
    constants: list[str]
    provenance: ProvenanceRead
    note: str | None


class AddonRead(Read):
    key: str
    name: str
    description: str
    system: list[str]
    requires: str | None
    provenance: ProvenanceRead


# ---------------------------------------------------------------- operations


class ReadinessRead(Read):
    status: Literal["ok", "unavailable"]
    database: str = Field(description="`ok`, or the kind of error the database gave")
    replica: str | None = Field(
        default=None,
        description="With LISENS_REPLICA_URL: `ok`, or the kind of error the replica gave (its reads then go "
        "to the primary, so the server stays ready); absent without a replica",
    )


__all__ = [
    "AddonChangeRead",
    "AddonRead",
    "AppliedLoweringRead",
    "AppliedMoveRead",
    "AssignmentRead",
    "AuditEntryRead",
    "BillingPeriodRead",
    "BulkFailureRead",
    "BulkRead",
    "DeliveryRead",
    "EffectiveLicenseRead",
    "EventRead",
    "FencingRead",
    "GenerationRead",
    "GenerationTotalsRead",
    "GenerationsReportRead",
    "GrantRead",
    "HoldingsRead",
    "InvoiceLineRead",
    "InvoiceRead",
    "KeptDroppedRead",
    "LicenseRead",
    "LogHeads",
    "MappingRead",
    "MetricRead",
    "ModuleChangeRead",
    "MovePlanRead",
    "MovePlanSelectionRead",
    "MovePlanSummaryRead",
    "MovePlanTenantRead",
    "MovePreviewRead",
    "MoveRead",
    "MoveReportRead",
    "MoveRollbackRead",
    "MoveSummaryRead",
    "OwnerRead",
    "PackageActivationRead",
    "PackageChangesRead",
    "PackageLicenseRead",
    "PackagePurchasesRead",
    "PackageRead",
    "PanelOwnerRead",
    "PanelRead",
    "PanelSystemLicenseRead",
    "PanelUserLicenseRead",
    "PartnerLicenseAddedRead",
    "PartnerLicenseRead",
    "PlanRead",
    "ProvenanceRead",
    "Read",
    "ReadinessRead",
    "RenewalLicenseRead",
    "RenewalRead",
    "ReplayRead",
    "SavedMovePlanRead",
    "ScheduledChangeRead",
    "ScheduledRead",
    "ScheduledSeatsRead",
    "SeatMoveRead",
    "SeatsLoweringRead",
    "SeatsRead",
    "SeatsUpgradeRead",
    "SignatureRead",
    "SnapshotLicenseRead",
    "SnapshotRead",
    "SubscriptionLicenseRead",
    "SubscriptionRead",
    "SuperfluousRead",
    "SystemLicenseChangeRead",
    "TagsRead",
    "TenantPlanChangeRead",
    "TenantRead",
    "TenantSummaryRead",
    "TermRead",
    "TokenRead",
    "TokenRevokedRead",
    "UserChangeRead",
    "UserCreatedRead",
    "UserMoveRead",
    "UserRead",
    "UserStateRead",
    "UserSummaryRead",
    "WaveCountsRead",
    "WaveRead",
    "WaveReportRead",
    "WaveTenantRead",
    "WebhookRead",
]
