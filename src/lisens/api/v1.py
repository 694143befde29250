"""The own API under /v1: every use case of tenants, seats, users and assignment, plus batch checks."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lisens.api.deps import (
    BEARER_SCHEME,
    Auth,
    can_manage,
    can_read,
    current_principal,
    signing_keys,
    unit_of_work,
    vendor_only,
    verifying_key,
)
from lisens.api.problems import ApiError
from lisens.api.responses import (
    AddonChangeRead,
    AddonRead,
    AssignmentRead,
    AuditEntryRead,
    BulkRead,
    FencingRead,
    GenerationRead,
    GenerationsReportRead,
    HoldingsRead,
    InvoiceRead,
    LicenseRead,
    MetricRead,
    MovePlanRead,
    MovePreviewRead,
    MoveRead,
    MoveReportRead,
    MoveRollbackRead,
    OwnerRead,
    PackageActivationRead,
    PackageRead,
    PanelRead,
    PartnerLicenseAddedRead,
    PlanRead,
    RenewalRead,
    SavedMovePlanRead,
    ScheduledChangeRead,
    ScheduledRead,
    SeatsRead,
    SeatsUpgradeRead,
    SnapshotRead,
    SubscriptionRead,
    SystemLicenseChangeRead,
    TagsRead,
    TenantPlanChangeRead,
    TenantRead,
    TenantSummaryRead,
    TokenRead,
    TokenRevokedRead,
    UserChangeRead,
    UserCreatedRead,
    UserRead,
    UserSummaryRead,
    WaveRead,
    WaveReportRead,
    WaveTenantRead,
)
from lisens.api.schemas import (
    AddonAdd,
    Assignment,
    At,
    BulkRequest,
    CheckRequest,
    CheckResponse,
    CohortSelection,
    Day,
    Document,
    Instant,
    LogVerificationRead,
    MoveApply,
    MovePlanRequest,
    OwnerAdd,
    PackageActivate,
    PackageIssue,
    PartnerLicenseAdd,
    PlanChange,
    Problem,
    SeatsSet,
    SeatsUpgrade,
    SubscriptionChange,
    SubscriptionCreate,
    SystemLicenseAdd,
    TagSet,
    TenantCreate,
    TokenCreate,
    TokenCreated,
    Unassignment,
    UsageAdd,
    UsageSet,
    UserCreate,
    UserUpdate,
    WaveRequest,
)
from lisens.catalog.loader import load_catalog, load_catalogs
from lisens.catalog.prices import price_list_of
from lisens.catalog.views import addon_view, generation_view, grant_view, license_view, plan_view
from lisens.domain.engine import Decision, require_plan
from lisens.domain.errors import Code
from lisens.domain.times import utc
from lisens.service import (
    audit,
    bulk,
    fencing,
    move_plans,
    moves,
    packages,
    panel,
    scheduling,
    subscriptions,
    tags,
    tenants,
    tokens,
    users,
    waves,
)
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.context import Context
from lisens.service.results import Written
from lisens.web.units import VERSION_HEADER, VERSION_STATE, read

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for code, text in (
        (401, "Missing, unknown or revoked token"),
        (403, "The token's role may not do this"),
        (404, "No such tenant, user or token (or not the token's tenant)"),
        (409, "Conflicts with the current state: nothing was changed"),
        (413, "Request body too large"),
        (422, "Invalid request"),
        (429, "Too many failed authentications from this address: wait Retry-After seconds"),
        (503, "Database unavailable"),
    )
}


class ChangeRoute(APIRoute):
    """A route whose change answers carry the tenant's version after the change (`Written.version`),
    as the `Lisens-Version` header does: read once the endpoint's unit of work committed."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = kwargs.get("methods") or ()
        if set(methods) - {"GET", "HEAD"}:
            endpoint = _with_version(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _with_version(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def answer(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        request = kwargs.get("request")
        version = getattr(request.state, VERSION_STATE, None) if isinstance(request, Request) else None
        if isinstance(result, Written) and version is not None:
            return result.model_copy(update={"version": version})
        return result

    return answer


router = APIRouter(prefix="/v1", responses=PROBLEMS, route_class=ChangeRoute)
# The check alone, matched before every other route: it is the one asked most, by far.
checks = APIRouter(prefix="/v1", responses=PROBLEMS)

MAX_PAGE = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page (at most {MAX_PAGE})")]
Item = TypeVar("Item", bound=BaseModel)
PAGED = {"headers": {"Link": {"description": 'The next page: `<URL>; rel="next"`, absent on the last page'}}}


def _page(request: Request, response: Response, items: list[Item], *, limit: int, cursor: str) -> list[Item]:
    """The first `limit` of `items` (fetched as limit + 1); when there are more, a `Link` header to the next
    page, whose `after` is the `cursor` field of this page's last item (keyset pagination)."""
    if len(items) <= limit:
        return items
    page = items[:limit]
    following = request.url.include_query_params(after=str(getattr(page[-1], cursor)))
    response.headers["Link"] = f'<{following}>; rel="next"'
    return page


def _at(request: Request, value: datetime | None) -> datetime:
    """The time a read is answered for: the one asked, else now by the server's clock."""
    return utc(value) if value else utc(request.app.state.clock())


# ---------------------------------------------------------------- catalog


@router.get("/catalog/generations", tags=["catalog"], response_model=list[GenerationRead])
def catalog_generations(request: Request, principal: Auth) -> list[Document]:
    """Every packaging generation Lisens knows: 7, 9, 11 and CRM Suite, with their names and what they hold."""
    return [generation_view(c) for c in load_catalogs(request.app.state.settings.catalog_dir).values()]


@router.get("/catalog/{generation}/plans", tags=["catalog"], response_model=list[PlanRead])
def catalog_plans(request: Request, principal: Auth, generation: str) -> list[Document]:
    """The user plans of a generation, each with its plan license, `ExtraInfo` (`set=…`) and every license it issues."""
    catalog = load_catalog(generation, request.app.state.settings.catalog_dir)
    return [plan_view(catalog, p) for p in catalog.plans.values()]


@router.get("/catalog/{generation}/plans/{key}", tags=["catalog"], response_model=PlanRead)
def catalog_plan(request: Request, principal: Auth, generation: str, key: str) -> Document:
    """One user plan of a generation, or a combined plan `a+b[+c]` (one tier per solution)."""
    catalog = load_catalog(generation, request.app.state.settings.catalog_dir)
    return plan_view(catalog, require_plan(catalog, key))


@router.get("/catalog/{generation}/licenses", tags=["catalog"], response_model=list[LicenseRead])
def catalog_licenses(request: Request, principal: Auth, generation: str) -> list[Document]:
    """The module licenses of a generation as it ships them: type, hidden, ExtraFlags, ExtraInfo, prerequisite,
    provenance."""
    catalog = load_catalog(generation, request.app.state.settings.catalog_dir)
    return [license_view(lic) for lic in catalog.licenses.values()]


@router.get("/catalog/{generation}/addons", tags=["catalog"], response_model=list[AddonRead])
def catalog_addons(request: Request, principal: Auth, generation: str) -> list[Document]:
    """The tenant add-ons a generation sells and the system licenses each turns on."""
    catalog = load_catalog(generation, request.app.state.settings.catalog_dir)
    return [addon_view(a) for a in catalog.addons.values()]


# ---------------------------------------------------------------- tenants and purchases


@router.post("/tenants", status_code=status.HTTP_201_CREATED, tags=["tenants"], response_model=TenantRead)
def create_tenant(request: Request, principal: Auth, body: TenantCreate) -> TenantRead:
    """Create a tenant on a packaging generation (vendor). Answers the tenant as `GET` shows it."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.create_tenant(
            ctx, name=body.name, generation=body.generation, company=body.company, serial=body.serial, at=body.at
        )


@router.get("/tenants", tags=["tenants"], responses={200: PAGED}, response_model=list[TenantSummaryRead])
def list_tenants(
    request: Request,
    response: Response,
    principal: Auth,
    limit: Limit = 100,
    after: Annotated[str | None, Query(max_length=100, description="The last tenant name of the page before")] = None,
) -> list[TenantSummaryRead]:
    """The tenants the token may see, by name, a page at a time (a `Link` header leads to the next)."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        if principal.role != "vendor":  # its own tenant only: one item, one page
            if principal.tenant is None or (after is not None and principal.tenant <= after):
                return []
            shown = tenants.show_tenant(ctx, principal.tenant)
            return [
                TenantSummaryRead(
                    name=shown.name, generation=shown.generation, company=shown.company, serial=shown.serial
                )
            ]
        found = tenants.list_tenants(ctx, after=after, limit=limit + 1)
    return _page(request, response, found, limit=limit, cursor="name")


@router.get("/tenants/{tenant}", tags=["tenants"], response_model=TenantRead)
def show_tenant(request: Request, principal: Auth, tenant: str) -> TenantRead:
    """A tenant: generation, company, serial, seats bought, add-ons, system and partner licenses, number of users."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return tenants.show_tenant(ctx, tenant)


@router.put(
    "/tenants/{tenant}/seats/{plan_or_license}",
    tags=["tenants"],
    response_model=SeatsRead | ScheduledRead,
    response_model_exclude_unset=True,
)
def set_seats(
    request: Request, principal: Auth, tenant: str, plan_or_license: str, body: SeatsSet
) -> SeatsRead | ScheduledRead:
    """Set the seats of a plan, combined plan or restricted user license (vendor). Lowering below what is in use is
    refused naming the holders; lowering takes effect at the term's end."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.set_seats(ctx, tenant, plan_or_license, body.number, at=body.at)


@router.post("/tenants/{tenant}/addons", tags=["tenants"], response_model=AddonChangeRead | ScheduledRead)
def add_addon(request: Request, principal: Auth, tenant: str, body: AddonAdd) -> AddonChangeRead | ScheduledRead:
    """Add a tenant add-on (vendor): its system licenses are on for every user at once."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.add_addon(ctx, tenant, body.addon, at=body.at)


@router.delete("/tenants/{tenant}/addons/{addon}", tags=["tenants"], response_model=AddonChangeRead)
def remove_addon(request: Request, principal: Auth, tenant: str, addon: str) -> AddonChangeRead | ScheduledRead:
    """Remove a tenant add-on (vendor)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.remove_addon(ctx, tenant, addon)


@router.post(
    "/tenants/{tenant}/system-licenses", tags=["tenants"], response_model=SystemLicenseChangeRead | ScheduledRead
)
def add_system_license(
    request: Request, principal: Auth, tenant: str, body: SystemLicenseAdd
) -> SystemLicenseChangeRead | ScheduledRead:
    """Sell the tenant a system license on its own (vendor)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.add_system_license(ctx, tenant, body.license, at=body.at)


@router.delete(
    "/tenants/{tenant}/system-licenses/{license_name}", tags=["tenants"], response_model=SystemLicenseChangeRead
)
def remove_system_license(
    request: Request, principal: Auth, tenant: str, license_name: str
) -> SystemLicenseChangeRead | ScheduledRead:
    """Take back a system license sold on its own (vendor)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.remove_system_license(ctx, tenant, license_name)


@router.post("/tenants/{tenant}/owners", tags=["tenants"], response_model=OwnerRead | ScheduledRead)
def add_owner(request: Request, principal: Auth, tenant: str, body: OwnerAdd) -> OwnerRead | ScheduledRead:
    """Register a partner license owner for the tenant (vendor)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.add_owner(ctx, tenant, body.name, description=body.description, at=body.at)


@router.post(
    "/tenants/{tenant}/owners/{owner}/licenses",
    tags=["tenants"],
    response_model=PartnerLicenseAddedRead | ScheduledRead,
)
def add_partner_license(
    request: Request, principal: Auth, tenant: str, owner: str, body: PartnerLicenseAdd
) -> PartnerLicenseAddedRead | ScheduledRead:
    """Add a module license of a partner owner to the tenant (vendor): user or system, restricted or not."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.add_partner_license(
            ctx,
            tenant,
            f"{owner}.{body.module}",
            license_type=body.type,
            unrestricted=body.unrestricted,
            description=body.description,
            at=body.at,
        )


@router.get("/tenants/{tenant}/panel", tags=["tenants"], response_model=PanelRead)
def license_panel(
    request: Request, principal: Auth, tenant: str, show_all: Annotated[bool, Query(alias="all")] = False
) -> PanelRead:
    """The license panel as data: system licenses in use, and per plan and user license the seats total, in use and
    free."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return panel.panel(ctx, tenant, show_all=show_all)


@router.get("/tenants/{tenant}/audit", tags=["tenants"], responses={200: PAGED}, response_model=list[AuditEntryRead])
def audit_log(
    request: Request,
    response: Response,
    principal: Auth,
    tenant: str,
    user: str | None = None,
    at: Instant | None = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="Entries after this sequence number")] = 0,
    limit: Limit = 100,
) -> list[AuditEntryRead]:
    """The tenant's log in commit order, a page at a time; the `Link` header (rel="next") gives the next page."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        entries = audit.audit_log(ctx, tenant, user=user, until=at, after=after, limit=limit + 1)
    return _page(request, response, entries, limit=limit, cursor="seq")


@router.get("/tenants/{tenant}/audit/verify", tags=["tenants"], response_model=LogVerificationRead)
def verify_tenant_log(request: Request, principal: Auth, tenant: str) -> Document:
    """Recompute the tenant's hash chain: `ok`, or the first edited, deleted or reordered entry (vendor only)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return audit.verify_log(ctx, tenant).view()


@router.get("/audit/verify", tags=["tokens"], response_model=LogVerificationRead)
def verify_vendor_log(request: Request, principal: Auth) -> Document:
    """Recompute the chain of the vendor's own log (token creation and revocation)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return audit.verify_log(ctx, None).view()


@router.get("/tenants/{tenant}/scheduled", tags=["tenants"], response_model=list[ScheduledChangeRead])
def scheduled_changes(
    request: Request, principal: Auth, tenant: str, pending: bool = False
) -> list[ScheduledChangeRead]:
    """The vendor's changes dated in the future: pending, applied, failed (with the reason), cancelled."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return scheduling.list_changes(ctx, tenant, pending_only=pending)


@router.delete("/tenants/{tenant}/scheduled/{change_id}", tags=["tenants"], response_model=ScheduledChangeRead)
def cancel_scheduled_change(
    request: Request, principal: Auth, tenant: str, change_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> ScheduledChangeRead:
    """Cancel a pending scheduled change (vendor only; recorded in the tenant's log)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return scheduling.cancel_change(ctx, tenant, change_id)


@router.post("/tenants/{tenant}/scheduled/run", tags=["tenants"], response_model=list[ScheduledChangeRead])
def run_scheduled_changes(request: Request, principal: Auth, tenant: str) -> list[ScheduledChangeRead]:
    """Apply the changes whose time has come (any later change of the tenant does this first, too)."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return scheduling.run_due(ctx, tenant)[tenant]


# ---------------------------------------------------------------- subscriptions and invoices


@router.post(
    "/tenants/{tenant}/subscription",
    status_code=status.HTTP_201_CREATED,
    tags=["billing"],
    response_model=SubscriptionRead,
)
def create_subscription(request: Request, principal: Auth, tenant: str, body: SubscriptionCreate) -> SubscriptionRead:
    """Start the tenant's subscription (vendor): a 12-month contract from `start` that renews itself, billed every
    `period` months."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return subscriptions.create_subscription(ctx, tenant, start=body.start, period=body.period, at=body.at)


@router.get("/tenants/{tenant}/subscription", tags=["billing"], response_model=SubscriptionRead)
def show_subscription(request: Request, principal: Auth, tenant: str, at: Instant | None = None) -> SubscriptionRead:
    """The subscription at a moment: term, billing period, next renewal, license dates and the upcoming invoice."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return subscriptions.show_subscription(ctx, tenant, at=_at(request, at))


@router.patch("/tenants/{tenant}/subscription", tags=["billing"], response_model=SubscriptionRead | ScheduledRead)
def change_subscription(
    request: Request, principal: Auth, tenant: str, body: SubscriptionChange
) -> SubscriptionRead | ScheduledRead:
    """Change the billing period (vendor); it takes effect at the next renewal."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return subscriptions.change_period(ctx, tenant, period=body.period, at=body.at)


@router.post("/tenants/{tenant}/subscription/cancel", tags=["billing"], response_model=SubscriptionRead | ScheduledRead)
def cancel_subscription(
    request: Request, principal: Auth, tenant: str, body: At | None = None
) -> SubscriptionRead | ScheduledRead:
    """Cancel the subscription (vendor): it ends with its current term."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return subscriptions.cancel_subscription(ctx, tenant, at=body.at if body else None)


@router.post("/tenants/{tenant}/subscription/renew", tags=["billing"], response_model=RenewalRead)
def renew_subscription(request: Request, principal: Auth, tenant: str, body: At | None = None) -> RenewalRead:
    """Run what is due (vendor): renewals, invoices and changes scheduled up to now."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return subscriptions.renew(ctx, tenant, at=body.at if body else None)


@router.get("/tenants/{tenant}/invoices", tags=["billing"], responses={200: PAGED}, response_model=list[InvoiceRead])
def list_invoices(
    request: Request,
    response: Response,
    principal: Auth,
    tenant: str,
    start: Annotated[Day, Query(alias="from")],
    end: Annotated[Day, Query(alias="to")],
    limit: Limit = 100,
    after: Annotated[Day | None, Query(description="The issue date of the last invoice of the page before")] = None,
) -> list[InvoiceRead]:
    """The tenant's invoices in a date range, a page at a time."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        found = subscriptions.list_invoices(ctx, tenant, start=start, end=end)
    if after is not None:
        found = [invoice for invoice in found if invoice.issued > after.isoformat()]
    return _page(request, response, found[: limit + 1], limit=limit, cursor="issued")


@router.get("/tenants/{tenant}/invoices/preview", tags=["billing"], response_model=InvoiceRead | None)
def preview_invoice(request: Request, principal: Auth, tenant: str, at: Instant | None = None) -> InvoiceRead | None:
    """The next invoice as it would be issued now (null without a subscription)."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return subscriptions.preview_invoice(ctx, tenant, at=_at(request, at))


@router.post("/tenants/{tenant}/seats/upgrade", tags=["billing"], response_model=SeatsUpgradeRead | ScheduledRead)
def upgrade_seats(
    request: Request, principal: Auth, tenant: str, body: SeatsUpgrade
) -> SeatsUpgradeRead | ScheduledRead:
    """Add seats during the term (vendor), with the prorated invoice line for the rest of the billing period."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tenants.upgrade_seats(
            ctx,
            tenant,
            from_plan=body.from_plan,
            to_plan=body.to_plan,
            number=body.number,
            users=body.users,
            at=body.at,
        )


# ---------------------------------------------------------------- generations, CRM Suite plan limits


@router.get(
    "/tenants/{tenant}/move/preview",
    tags=["generations"],
    response_model=MovePreviewRead,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def move_preview(
    request: Request,
    principal: Auth,
    tenant: str,
    to: Annotated[str, Query(min_length=1, max_length=20)],
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> MovePreviewRead | Response:
    """Per user the module licenses gained and lost, per plan the seats before and after."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        view = moves.preview(ctx, tenant, to=to)
    if output == "csv":
        return Response(moves.preview_csv(view), media_type="text/csv")
    return view


@router.post("/tenants/{tenant}/move", tags=["generations"], response_model=MoveRead, response_model_exclude_unset=True)
def move_apply(request: Request, principal: Auth, tenant: str, body: MoveApply) -> MoveRead:
    """Move the tenant to another generation, all users or none; now or at the next renewal."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return moves.apply(ctx, tenant, to=body.to, at=body.at, at_renewal=body.at_renewal)


@router.post("/tenants/{tenant}/move/rollback", tags=["generations"], response_model=MoveRollbackRead)
def move_rollback(request: Request, principal: Auth, tenant: str, body: At | None = None) -> MoveRollbackRead:
    """Undo the tenant's last move to another generation (vendor): every seat and assignment restored exactly."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return moves.rollback(ctx, tenant, at=body.at if body else None)


@router.get("/moves/report", tags=["generations"], response_model=MoveReportRead)
def move_report(
    request: Request, principal: Auth, to: Annotated[str, Query(min_length=1, max_length=20)]
) -> MoveReportRead:
    """Across all tenants: how many users would gain and lose which licenses (vendor)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return moves.report(ctx, to=to)


# The earlier paths of the generation moves answer as before; they are left out of the OpenAPI document.
for _path, _endpoint, _method, _model in (
    ("/tenants/{tenant}/migration/preview", move_preview, "GET", MovePreviewRead),
    ("/tenants/{tenant}/migration", move_apply, "POST", MoveRead),
    ("/tenants/{tenant}/migration/rollback", move_rollback, "POST", MoveRollbackRead),
    ("/migrations/report", move_report, "GET", MoveReportRead),
):
    router.add_api_route(
        _path,
        _endpoint,
        methods=[_method],
        response_model=_model,
        response_model_exclude_unset=_endpoint is move_apply,
        include_in_schema=False,
    )


@router.get("/generations/report", tags=["generations"], response_model=GenerationsReportRead)
def generations_report(request: Request, principal: Auth) -> GenerationsReportRead:
    """Tenants, seats and users per packaging generation (vendor)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return tenants.generation_report(ctx)


@router.get("/tenants/{tenant}/fencing", tags=["generations"], response_model=FencingRead)
def plan_limits(request: Request, principal: Auth, tenant: str) -> FencingRead:
    """The plan limits of a CRM Suite tenant: per metric how much is used of its maximum (-1: unlimited)."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return fencing.fencing(ctx, tenant)


@router.put("/tenants/{tenant}/usage/{metric}", tags=["generations"], response_model=MetricRead | ScheduledRead)
def usage_set(
    request: Request, principal: Auth, tenant: str, metric: str, body: UsageSet
) -> MetricRead | ScheduledRead:
    """Report how much of a plan-limited thing is in use."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return fencing.set_usage(ctx, tenant, metric, body.count, at=body.at)


@router.post("/tenants/{tenant}/usage/{metric}", tags=["generations"], response_model=MetricRead | ScheduledRead)
def usage_add(
    request: Request, principal: Auth, tenant: str, metric: str, body: UsageAdd
) -> MetricRead | ScheduledRead:
    """Create more: 409 PLAN_LIMIT_REACHED beyond the plan's limit."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return fencing.add_usage(ctx, tenant, metric, body.count, at=body.at)


@router.put(
    "/tenants/{tenant}/plan",
    tags=["generations"],
    response_model=TenantPlanChangeRead | ScheduledRead,
    response_model_exclude_unset=True,
)
def change_plan(
    request: Request, principal: Auth, tenant: str, body: PlanChange
) -> TenantPlanChangeRead | ScheduledRead:
    """Move a CRM Suite tenant to another plan, with its seats and every seated user."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return fencing.change_tenant_plan(ctx, tenant, body.plan, at=body.at)


# ---------------------------------------------------------------- signed packages and snapshots


@router.post(
    "/tenants/{tenant}/packages", status_code=status.HTTP_201_CREATED, tags=["packages"], response_model=PackageRead
)
def issue_package(request: Request, principal: Auth, tenant: str, body: PackageIssue | None = None) -> Document:
    """A signed license package of the tenant (LicenseInfo, module licenses, dates), numbered one above the
    last: activation only ever moves to a higher number."""
    vendor_only(principal, tenant)
    private, _ = signing_keys(request)
    with unit_of_work(request, principal.actor) as ctx:
        return packages.issue_package(
            ctx, tenant, private, at=body.at if body else None, lower_now=body.lower_now if body else False
        )


@router.post("/tenants/{tenant}/packages/activate", tags=["packages"], response_model=PackageActivationRead)
def activate_package(request: Request, principal: Auth, tenant: str, body: PackageActivate) -> PackageActivationRead:
    """Verify a package and replace the tenant's licenses with it (409 SUPERFLUOUS_LICENSES when it lowers
    a number below what is in use)."""
    can_manage(principal, tenant)
    key = verifying_key(request)
    with unit_of_work(request, principal.actor) as ctx:
        return packages.activate_package(ctx, tenant, body.package, key, dry_run=body.dry_run)


@router.get("/tenants/{tenant}/snapshot", tags=["packages"], response_model=SnapshotRead)
def snapshot(
    request: Request,
    principal: Auth,
    tenant: str,
    ttl: Annotated[int, Query(ge=60, le=31 * 86400, description="Seconds the snapshot is valid")] = 3600,
) -> Response:
    """A signed, time-limited snapshot of who holds which module licenses, for `lisens.offline`.

    For the vendor, the tenant's admin, and the tenant's app tokens that are not bound to a user
    (app servers checking offline); a snapshot outlives the token that fetched it.
    """
    can_read(principal, tenant)
    if principal.role == "app" and principal.user is not None:
        raise ApiError(
            f"an app token bound to user {principal.user!r} may not fetch the tenant's snapshot; "
            "offline app servers use an app token without a user",
            code=Code.FORBIDDEN,
        )
    private, _ = signing_keys(request)
    cache: EffectiveLicenseCache = request.app.state.cache
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        document = packages.issue_snapshot(
            ctx, tenant, private, at=_at(request, None), ttl=timedelta(seconds=ttl), cache=cache.snapshots
        )
    # Serialised here: a snapshot of 100,000 users skips a second, slow validation pass.
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


# ---------------------------------------------------------------- users and assignments


@router.get("/tenants/{tenant}/users", tags=["users"], responses={200: PAGED}, response_model=list[UserSummaryRead])
def list_users(
    request: Request,
    response: Response,
    principal: Auth,
    tenant: str,
    limit: Limit = 100,
    after: Annotated[str | None, Query(max_length=254, description="The last user name of the page before")] = None,
) -> list[UserSummaryRead]:
    """The tenant's users by name with their plans, a page at a time."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        found = users.list_users(ctx, tenant, after=after, limit=limit + 1)
    return _page(request, response, found, limit=limit, cursor="user")


@router.post(
    "/tenants/{tenant}/users",
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    response_model=UserCreatedRead | ScheduledRead,
)
def add_user(request: Request, principal: Auth, tenant: str, body: UserCreate) -> UserCreatedRead | ScheduledRead:
    """Add a user (an associate) to the tenant. Answers the user with the associate id the SuperOffice routes take."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return users.add_user(ctx, tenant, body.name, user_type=body.type, can_log_in=body.can_log_in, at=body.at)


@router.get("/tenants/{tenant}/users/{user}", tags=["users"], response_model=UserRead)
def show_user(request: Request, principal: Auth, tenant: str, user: str) -> UserRead:
    """A user: type, plan, direct licenses, and the licenses they hold now with what grants each."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return users.show_user(ctx, tenant, user)


@router.patch("/tenants/{tenant}/users/{user}", tags=["users"], response_model=UserChangeRead | ScheduledRead)
def update_user(
    request: Request, principal: Auth, tenant: str, user: str, body: UserUpdate
) -> UserChangeRead | ScheduledRead:
    """Change whether a user can log in (a seat of a CRM Suite tenant is a user who can)."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return users.set_can_log_in(ctx, tenant, user, body.can_log_in, at=body.at)


@router.post("/tenants/{tenant}/users/{user}/retire", tags=["users"], response_model=UserChangeRead | ScheduledRead)
def retire_user(
    request: Request, principal: Auth, tenant: str, user: str, body: At | None = None
) -> UserChangeRead | ScheduledRead:
    """Retire a user: their plan and licenses are freed, and they hold nothing from then on."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return users.retire_user(ctx, tenant, user, at=body.at if body else None)


@router.post(
    "/tenants/{tenant}/users/{user}/assignments", tags=["users"], response_model=AssignmentRead | ScheduledRead
)
def assign(
    request: Request, principal: Auth, tenant: str, user: str, body: Assignment
) -> AssignmentRead | ScheduledRead:
    """Assign plans (a multi-plan user gets the combined plan) and licenses to a user, all or nothing; refused without
    a free seat or a prerequisite."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return users.assign(ctx, tenant, user, plans=body.plans, licenses=body.licenses, at=body.at)


@router.delete(
    "/tenants/{tenant}/users/{user}/assignments", tags=["users"], response_model=AssignmentRead | ScheduledRead
)
def unassign(
    request: Request, principal: Auth, tenant: str, user: str, body: Unassignment
) -> AssignmentRead | ScheduledRead:
    """Take a plan or licenses from a user; refused if a license still held would lose its prerequisite."""
    can_manage(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return users.unassign(ctx, tenant, user, plan=body.plan, licenses=body.licenses, at=body.at)


@router.get("/tenants/{tenant}/users/{user}/licenses", tags=["users"], response_model=UserRead | HoldingsRead)
def user_licenses(
    request: Request, principal: Auth, tenant: str, user: str, at: Instant | None = None
) -> UserRead | HoldingsRead:
    """Effective licenses with provenance; with `at`, what the user held then (from the audit log)."""
    can_read(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        if at is not None:
            return audit.holdings_at(ctx, tenant, user, at)
        return users.show_user(ctx, tenant, user)


@router.post("/tenants/{tenant}/bulk-assignments", tags=["users"], response_model=BulkRead)
def bulk_assign(request: Request, principal: Auth, tenant: str, body: BulkRequest) -> BulkRead:
    """Assign plans and licenses to many users (rows, or a CSV), checked first and written all or nothing (or only the
    valid rows with `partial`)."""
    can_manage(principal, tenant)
    rows = [
        bulk.BulkRow(line=n, user=r.user, plans=tuple(r.plans), licenses=tuple(r.licenses), user_type=r.type)
        for n, r in enumerate(body.rows, start=1)
    ]
    if body.csv is not None:
        rows.extend(bulk.parse_bulk_csv(body.csv))
    # Checked without the tenant's lock (the slow part), then written under it, all or nothing.
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        prepared = bulk.prepare(ctx, tenant, rows, partial=body.partial, create_users=body.create_users)
    with unit_of_work(request, principal.actor) as ctx:
        return bulk.commit(ctx, prepared, at=body.at)


@checks.post(
    "/tenants/{tenant}/check",
    response_model=CheckResponse,
    tags=["checks"],
    responses={413: {"model": Problem, "description": "Too many (user, license) pairs: BATCH_TOO_LARGE"}},
    # The bearer scheme, declared without a dependency: on the route asked most, the token is read in the
    # endpoint (`current_principal`, the same rule), sparing the framework's per-request dependency work.
    openapi_extra={"security": [{BEARER_SCHEME: []}]},
)
async def check(request: Request, tenant: str, body: CheckRequest) -> Response:
    """Every (user, license) pair: held, and a reason code; with `explain`, what grants it or would.

    At most 1,000,000 pairs (100,000 with `explain`); a larger answer is streamed in chunks. With
    `min_version`, the answer includes every change up to that version of the tenant (`Lisens-Version`).
    """
    return await answer_check(request, tenant, body)


async def answer_check(request: Request, tenant: str, body: CheckRequest) -> Response:
    """The check route's answer, for the route and for `lisens.api.lane.CheckLane` alike."""
    principal = await current_principal(request)
    can_read(principal, tenant)
    users.require_batch_size(len(body.users), len(body.licenses), explain=body.explain)
    asked = users.CheckOptions(explain=body.explain, at=body.at, min_version=body.min_version)
    cache = request.app.state.cache
    answer = None
    if len(body.users) * len(body.licenses) <= IN_LOOP_PAIRS:  # small and cached: no thread, no database
        answer = users.check_batch_in_memory(
            cache, request.app.state.clock, tenant, body.users, body.licenses, looked=True, **asked
        )
    if answer is None:
        # What the cache lacks is read in a thread: from a replica if there is one, from the primary when the
        # replica has not replayed `min_version` yet.
        def work(ctx: Context) -> users.BatchCheck:
            return users.check_batch(ctx, cache, tenant, body.users, body.licenses, **asked)

        answer = await run_in_threadpool(read, request, principal.actor, work)
    chunks = _check_chunks(answer, explain=body.explain)
    headers = {VERSION_HEADER: str(answer.version)}
    if len(answer.rows) * len(answer.licenses) <= STREAM_ABOVE_PAIRS:
        return Response(b"".join(chunks), media_type="application/json", headers=headers)
    return StreamingResponse(chunks, media_type="application/json", headers=headers)


IN_LOOP_PAIRS = 1000
STREAM_ABOVE_PAIRS = 20_000
CHUNK_BYTES = 256 * 1024


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


def _check_chunks(answer: users.BatchCheck, *, explain: bool) -> Iterator[bytes]:
    """The check's JSON document in chunks of about CHUNK_BYTES: memory stays flat however many pairs.

    Serialised here rather than through the response model: each distinct tuple of decisions is
    encoded once, and a user's row is its name joined onto those encoded tails (C-level joins).
    """
    tails: dict[int, list[str]] = {}

    def encoded(decisions: tuple[Decision, ...]) -> list[str]:
        found = tails.get(id(decisions))
        if found is None:
            found = []
            for d in decisions:
                tail = f',"license":{_json(d.license)},"held":{_json(d.held)},"reason":{_json(d.reason)}'
                if d.warning is not None:
                    tail += f',"warning":{_json(d.warning)}'
                if explain:
                    granted = _json([grant_view(g) for g in d.granted_by])
                    would = _json([grant_view(g) for g in d.would_grant])
                    tail += f',"granted_by":{granted},"would_grant":{would}'
                found.append(tail + "}")
            tails[id(decisions)] = found
        return found

    buffer: list[str] = ['{"results":[']
    size = 0
    first = True
    for user, decisions in answer.rows:
        head = '{"user":' + _json(user)
        line = head + ("," + head).join(encoded(decisions))
        buffer.append(line if first else "," + line)
        first = False
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    buffer.append("]")
    if answer.dates is not None:
        buffer.append(',"license":' + _json(answer.dates))
    buffer.append(f',"version":{answer.version}}}')
    yield "".join(buffer).encode()


# ---------------------------------------------------------------- tokens


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated, tags=["tokens"])
def create_token(request: Request, principal: Auth, body: TokenCreate) -> TokenCreated:
    """The vendor creates any token; a tenant admin creates app tokens of its own tenant."""
    admin_own_app_token = principal.role == "admin" and body.role == "app" and body.tenant == principal.tenant
    if principal.role != "vendor" and not admin_own_app_token:
        raise ApiError("a tenant admin may only create app tokens of its own tenant", code=Code.FORBIDDEN)
    with unit_of_work(request, principal.actor) as ctx:
        plain, info = tokens.create_token(
            ctx, role=body.role, tenant=body.tenant, user=body.user, description=body.description
        )
    return TokenCreated(token=plain, info=info)


@router.get("/tokens", tags=["tokens"], responses={200: PAGED}, response_model=list[TokenRead])
def list_tokens(
    request: Request,
    response: Response,
    principal: Auth,
    limit: Limit = 100,
    after: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="The last token id of the page before")] = None,
) -> list[TokenRead]:
    """The API tokens the caller may see (never their secret), a page at a time."""
    if principal.role == "app":
        raise ApiError("an app token may only read and check licenses", code=Code.FORBIDDEN)
    tenant = principal.tenant if principal.role != "vendor" else None
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        found = tokens.list_tokens(ctx, tenant=tenant, after=after, limit=limit + 1)
    return _page(request, response, found, limit=limit, cursor="id")


@router.delete("/tokens/{token_id}", tags=["tokens"], response_model=TokenRevokedRead)
def revoke_token(
    request: Request, principal: Auth, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> TokenRevokedRead:
    """Revoke an API token: it fails from its next request on."""
    if principal.role == "app":
        raise ApiError("an app token may only read and check licenses", code=Code.FORBIDDEN)
    with unit_of_work(request, principal.actor) as ctx:
        if principal.role != "vendor":
            own = {t.id for t in tokens.list_tokens(ctx, tenant=principal.tenant)}
            if token_id not in own:
                raise ApiError(f"no token with id {token_id}", code=Code.UNKNOWN_TOKEN)
        return tokens.revoke_token(ctx, token_id)


@router.put("/tenants/{tenant}/tags/{key}", tags=["tenants"], response_model=TagsRead)
def set_tag(
    request: Request, principal: Auth, tenant: str, key: Annotated[str, Path(max_length=50)], body: TagSet
) -> TagsRead:
    """Tag the tenant `key=value` (vendor), replacing the key's value; every change is in the tenant's log."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tags.set_tag(ctx, tenant, key, body.value, at=body.at)


@router.delete("/tenants/{tenant}/tags/{key}", tags=["tenants"], response_model=TagsRead)
def remove_tag(request: Request, principal: Auth, tenant: str, key: Annotated[str, Path(max_length=50)]) -> TagsRead:
    """Remove the tenant's tag `key` (vendor); NO_TAG when it has none."""
    vendor_only(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return tags.remove_tag(ctx, tenant, key)


def _selection(body: CohortSelection) -> move_plans.Selection:
    return move_plans.Selection(
        generation=body.generation,
        renewal_month=body.renewal_month,
        min_users=body.min_users,
        max_users=body.max_users,
        tags=tuple((tags.require_key(key), tags.require_value(value)) for key, value in sorted(body.tags.items())),
        tenants=tuple(body.tenants),
        sample=body.sample,
        seed=body.seed,
    )


@router.post(
    "/moves/plans",
    tags=["generations"],
    response_model=MovePlanRead,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def plan_moves(
    request: Request,
    principal: Auth,
    body: MovePlanRequest,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Plan the move of a cohort of tenants (vendor): per tenant and in total, recurring revenue before and after
    with the installed price lists, users losing and gaining each license, and blockers. Changes nothing.

    The plan is made before the answer starts, a batch of tenants at a time, into a temporary file: a refusal is
    a problem as usual, and memory stays bounded however large the cohort. JSON has the summary before the
    tenants' rows (one a line); `?format=csv`: one line per tenant."""
    vendor_only(principal)
    selection = _selection(body)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        what_if = None
        if body.prices is not None:
            raw = {
                "price_list": {"generation": body.to, "currency": body.prices.currency},
                "monthly": dict(body.prices.monthly),
                "addons": dict(body.prices.addons),
            }
            what_if = price_list_of(raw, "the request's prices", ctx.catalog_dir)
        made = move_plans.stream(ctx, to=body.to, selection=selection, prices=what_if)
        document = move_plans.spool_csv(made) if output == "csv" else move_plans.spool_json(made)
    return StreamingResponse(
        document.chunks(), media_type=document.media_type, headers={"Content-Length": str(document.size)}
    )


PlanName = Annotated[str, Path(min_length=1, max_length=100)]
WaveId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/moves/plans", tags=["generations"], response_model=list[SavedMovePlanRead])
def saved_plans(request: Request, principal: Auth) -> list[SavedMovePlanRead]:
    """The saved cohort move plans (vendor), by name."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return waves.list_plans(ctx)


@router.put("/moves/plans/{name}", tags=["generations"], response_model=SavedMovePlanRead)
def save_plan(request: Request, principal: Auth, name: PlanName, body: MovePlanRequest) -> SavedMovePlanRead:
    """Keep a cohort move plan (its selection and target) under a name, to make waves of (vendor)."""
    vendor_only(principal)
    selection = _selection(body)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.save_plan(ctx, name, to=body.to, selection=selection)


@router.get("/moves/plans/{name}", tags=["generations"], response_model=SavedMovePlanRead)
def saved_plan(request: Request, principal: Auth, name: PlanName) -> SavedMovePlanRead:
    """A saved cohort move plan (vendor): its selection, target and price list."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return waves.require_saved_plan(ctx, name)


@router.post("/moves/waves", status_code=status.HTTP_201_CREATED, tags=["generations"], response_model=WaveReportRead)
def create_wave(request: Request, principal: Auth, body: WaveRequest) -> WaveReportRead:
    """A wave of a saved plan's tenants, or of a selection with `to` (vendor): the worker moves each tenant at
    its next renewal or on the date `at`, and records how each move went."""
    vendor_only(principal)
    given = body.model_fields_set - {"plan", "at", "to"}
    selection = _selection(body) if given or body.to is not None else None
    with unit_of_work(request, principal.actor) as ctx:
        return waves.create_wave(ctx, at=body.at, plan=body.plan, to=body.to, selection=selection)


@router.get("/moves/waves", tags=["generations"], response_model=list[WaveRead])
def list_waves(request: Request, principal: Auth) -> list[WaveRead]:
    """Every wave with how many of its tenants are scheduled, moved, blocked, rolled back and cancelled."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return waves.list_waves(ctx)


@router.get(
    "/moves/waves/{wave_id}",
    tags=["generations"],
    response_model=WaveReportRead,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def wave_report(
    request: Request,
    principal: Auth,
    wave_id: WaveId,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> WaveReportRead | Response:
    """The wave's report: its counts and one row per tenant (`?format=csv`: one line per tenant)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        view = waves.wave_report(ctx, wave_id)
    if output == "csv":
        return Response(waves.report_csv(view), media_type="text/csv")
    return view


@router.post("/moves/waves/{wave_id}/pause", tags=["generations"], response_model=WaveRead)
def pause_wave(request: Request, principal: Auth, wave_id: WaveId) -> WaveRead:
    """Stop the wave's due moves until it is resumed (409 WAVE_PAUSED, WAVE_CANCELLED)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.pause_wave(ctx, wave_id)


@router.post("/moves/waves/{wave_id}/resume", tags=["generations"], response_model=WaveRead)
def resume_wave(request: Request, principal: Auth, wave_id: WaveId) -> WaveRead:
    """Run a paused wave again (409 WAVE_NOT_PAUSED, WAVE_CANCELLED)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.resume_wave(ctx, wave_id)


@router.post("/moves/waves/{wave_id}/cancel", tags=["generations"], response_model=WaveRead)
def cancel_wave(request: Request, principal: Auth, wave_id: WaveId) -> WaveRead:
    """End the wave: scheduled tenants are not moved, moved ones stay moved (409 WAVE_CANCELLED)."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.cancel_wave(ctx, wave_id)


@router.post("/moves/waves/{wave_id}/rollback", tags=["generations"], response_model=WaveReportRead)
def rollback_wave(request: Request, principal: Auth, wave_id: WaveId) -> WaveReportRead:
    """Roll back every tenant the wave moved, exactly, and cancel the rest: all or nothing."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.rollback_wave(ctx, wave_id)


@router.post("/moves/waves/{wave_id}/tenants/{tenant}/rollback", tags=["generations"], response_model=WaveTenantRead)
def rollback_wave_tenant(request: Request, principal: Auth, wave_id: WaveId, tenant: str) -> WaveTenantRead:
    """Roll back one tenant's move of the wave exactly."""
    vendor_only(principal)
    with unit_of_work(request, principal.actor) as ctx:
        return waves.rollback_tenant(ctx, wave_id, tenant)
