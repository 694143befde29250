"""Request and response bodies of the own /v1 API (pydantic models, so the OpenAPI document is exact)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from lisens.api.responses import TokenRead
from lisens.domain.times import TIME_RANGE, day_in_range, in_range

MAX_ITEMS = 10_000


def _instant_in_range(value: datetime) -> datetime:
    if not in_range(value):
        raise PydanticCustomError("invalid_time", "time {value} is outside " + TIME_RANGE, {"value": value.isoformat()})
    return value


def _day_in_range(value: date) -> date:
    if not day_in_range(value):
        raise PydanticCustomError("invalid_time", "date {value} is outside " + TIME_RANGE, {"value": value.isoformat()})
    return value


Instant = Annotated[datetime, AfterValidator(_instant_in_range)]
"""A date-time within `TIME_RANGE` (INVALID_TIME otherwise); without an offset it is UTC."""
Day = Annotated[date, AfterValidator(_day_in_range)]
"""A date within `TIME_RANGE` (INVALID_TIME otherwise)."""


# The time of a change is the server's: only the vendor may give one, to record a past change exactly.
CorrectionAt = Annotated[
    Instant | None,
    Field(
        description="Vendor only: record this change at this past time, an audited correction that is "
        "refused (CHANGE_BEFORE_HISTORY) unless history stays exact. Tenant roles get 403 TIME_NOT_ALLOWED; "
        "by default the server's clock decides."
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(Body):
    name: str = Field(min_length=1, max_length=100, examples=["acme"])
    generation: str = Field(min_length=1, max_length=20, examples=["11"])
    company: str = Field(default="", max_length=254)
    serial: str = Field(default="", max_length=100)
    at: CorrectionAt = None


class SeatsSet(Body):
    number: int = Field(ge=0, le=10_000_000)
    at: CorrectionAt = None


class SubscriptionCreate(Body):
    start: Day
    period: Literal[1, 3, 6, 12]
    at: CorrectionAt = None


class SubscriptionChange(Body):
    period: Literal[1, 3, 6, 12]
    at: CorrectionAt = None


class SeatsUpgrade(Body):
    from_plan: str = Field(min_length=1, max_length=350, examples=["sales-essential"])
    to_plan: str = Field(min_length=1, max_length=350, examples=["sales-premium"])
    number: int = Field(ge=1, le=10_000_000)
    users: list[str] = Field(default_factory=list, max_length=10_000)
    at: CorrectionAt = None


class PackageActivate(Body):
    package: dict[str, Any] = Field(description="A signed license package (JSON), as `POST …/packages` issued it")
    dry_run: bool = False


class MoveApply(Body):
    to: str = Field(min_length=1, max_length=20, examples=["suite"])
    at_renewal: bool = False
    at: CorrectionAt = None


class TagSet(Body):
    value: str = Field(min_length=1, max_length=200, examples=["smb"])
    at: CorrectionAt = None


PriceAmount = Annotated[str, Field(pattern=r"^\d{1,9}\.\d{2}$", examples=["45.00"])]
PriceKey = Annotated[str, Field(min_length=1, max_length=200)]


class WhatIfPrices(Body):
    """A price list of the target generation for this plan only (nothing is installed): the same items as a
    `prices-G.toml` file, every plan, combination, sold user license and add-on priced."""

    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])
    monthly: dict[PriceKey, PriceAmount] = Field(max_length=10_000, examples=[{"core": "45.00"}])
    addons: dict[PriceKey, PriceAmount] = Field(default_factory=dict, max_length=10_000)


class CohortSelection(Body):
    """Which tenants: every condition given must hold."""

    generation: str | None = Field(default=None, min_length=1, max_length=20)
    renewal_month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2027-01"])
    min_users: int | None = Field(default=None, ge=0, le=10_000_000)
    max_users: int | None = Field(default=None, ge=0, le=10_000_000)
    tags: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=dict, max_length=20)
    tenants: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=10_000)
    sample: float | None = Field(default=None, gt=0, le=100)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class MovePlanRequest(CohortSelection):
    """Which tenants to plan a move for (every condition given must hold), and where to; with `prices`, the
    target's prices are those given (a what-if) instead of the installed price list."""

    to: str = Field(min_length=1, max_length=20, examples=["suite"])
    prices: WhatIfPrices | None = None


class WaveRequest(CohortSelection):
    """A wave: of a saved plan (`plan`), or of a selection with `to`; each tenant moves at its next renewal
    (`at: "renewal"`) or on the date `at`."""

    plan: str | None = Field(default=None, min_length=1, max_length=100, examples=["smb-2027"])
    at: str = Field(default="renewal", min_length=1, max_length=40, examples=["renewal", "2027-03-01"])
    to: str | None = Field(default=None, min_length=1, max_length=20, examples=["suite"])


class UsageSet(Body):
    count: int = Field(ge=0, le=10_000_000)
    at: CorrectionAt = None


class UsageAdd(Body):
    count: int = Field(default=1, ge=1, le=10_000_000)
    at: CorrectionAt = None


class PlanChange(Body):
    plan: str = Field(min_length=1, max_length=100, examples=["growth"])
    at: CorrectionAt = None


class AddonAdd(Body):
    addon: str = Field(min_length=1, max_length=100, examples=["cep"])
    at: CorrectionAt = None


class SystemLicenseAdd(Body):
    license: str = Field(min_length=1, max_length=350, examples=["superoffice.sandbox"])
    at: CorrectionAt = None


class OwnerAdd(Body):
    name: str = Field(min_length=1, max_length=100, examples=["ADWIZA"])
    description: str = Field(default="", max_length=254)
    at: CorrectionAt = None


class PartnerLicenseAdd(Body):
    module: str = Field(min_length=1, max_length=239, examples=["campaign"])
    type: Literal["system", "user"] = "user"
    unrestricted: bool = False
    description: str = Field(default="", max_length=254)
    at: CorrectionAt = None


class UserCreate(Body):
    name: str = Field(min_length=1, max_length=254, examples=["alice"])
    type: Literal["internal", "resource", "external", "anonymous", "system"] = "internal"
    can_log_in: bool = True
    at: CorrectionAt = None


class UserUpdate(Body):
    can_log_in: bool
    at: CorrectionAt = None


class Assignment(Body):
    plans: list[str] = Field(default_factory=list, max_length=3, examples=[["sales-premium", "service-essential"]])
    licenses: list[str] = Field(default_factory=list, max_length=500, examples=[["visible-for"]])
    at: CorrectionAt = None


class Unassignment(Body):
    plan: bool = False
    licenses: list[str] = Field(default_factory=list, max_length=500)
    at: CorrectionAt = None


class At(Body):
    at: CorrectionAt = None


class PackageIssue(Body):
    lower_now: bool = Field(
        default=False,
        description="Lower numbers apply at activation instead of at the end of the term (the vendor's choice)",
    )
    at: CorrectionAt = None


# A check repeats each name in every pair it answers: names are bounded like user and license names.
CheckName = Annotated[str, Field(min_length=1, max_length=254)]


class CheckRequest(Body):
    """At most 10,000 users, 1,000 licenses and 1,000,000 pairs (100,000 with `explain`)."""

    users: list[CheckName] = Field(min_length=1, max_length=MAX_ITEMS, examples=[["alice", "bob"]])
    licenses: list[CheckName] = Field(min_length=1, max_length=1000, examples=[["superoffice.quote-cal", "sale-cal"]])
    explain: bool = False
    at: Instant | None = Field(default=None, description="When to check (license expiry); default now")
    min_version: int | None = Field(
        default=None,
        ge=0,
        le=2**62,
        description="Answer from a state of the tenant at least this new: the `Lisens-Version` a write answered "
        "with (read your own write); without it, the fastest answer. VERSION_NOT_REACHED (409) if the tenant "
        "has no such version yet",
    )


class CheckResult(BaseModel):
    user: str
    license: str
    held: bool
    reason: str
    warning: str | None = Field(default=None, description="LICENSE_IN_GRACE: held as before, but the term expired")
    granted_by: list[dict[str, str]] | None = None
    would_grant: list[dict[str, str]] | None = None


class LicenseState(BaseModel):
    """The subscription's license dates at the moment asked about."""

    expiry: str
    grace: str
    status: str


class CheckResponse(BaseModel):
    results: list[CheckResult]
    license: LicenseState | None = None
    version: int = Field(description="The tenant's version the answer was decided at (the `Lisens-Version` header)")


class BulkRowIn(Body):
    user: str = Field(min_length=1, max_length=254)
    plans: list[str] = Field(default_factory=list, max_length=3)
    licenses: list[str] = Field(default_factory=list, max_length=500)
    type: Literal["internal", "resource", "external", "anonymous", "system"] = "internal"


class BulkRequest(Body):
    rows: list[BulkRowIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    csv: str | None = Field(default=None, max_length=5_000_000, description="CSV text: user,plans,licenses[,type]")
    partial: bool = False
    create_users: bool = False
    at: CorrectionAt = None


class TokenCreate(Body):
    role: Literal["vendor", "admin", "app"]
    tenant: str | None = Field(default=None, max_length=100)
    user: str | None = Field(default=None, max_length=254)
    description: str = Field(default="", max_length=254)


class TokenCreated(BaseModel):
    token: str = Field(description="The bearer token. Shown once; only its hash is stored.")
    info: TokenRead = Field(description="The token as `GET /v1/tokens` lists it; `info.id` revokes it")


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable error code."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    model_config = ConfigDict(extra="allow")


Document = dict[str, Any]


class ChainBreakRead(BaseModel):
    seq: int = Field(description="The first entry that is not as written (or, for MISSING/TRUNCATED, that is gone)")
    problem: Literal["EDITED", "MISSING", "REORDERED", "TRUNCATED"]
    message: str


class LogVerificationRead(BaseModel):
    log: str = Field(description="The tenant, or `vendor` for the vendor's own log")
    ok: bool
    entries: int
    head: int = Field(description="The sequence number of the last entry, as recorded apart from the entries")
    broken: ChainBreakRead | None


class WebhookCreate(Body):
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(default=[], max_length=100)
    description: str = Field(default="", max_length=254)


class WebhookChange(Body):
    enabled: bool


class WebhookReplay(Body):
    from_seq: int = Field(alias="from", ge=1, le=2**31 - 1)
    tenant: str | None = Field(default=None, max_length=100, description="Vendor's webhook: only this tenant")
