"""CRM Suite: one plan for the whole tenant, seats as users who can log in, and plan limits ("fencing")."""

from __future__ import annotations

from datetime import datetime

from lisens.db.repositories import AuditRepository, PurchaseRepository, UsageRepository, UserRepository
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.errors import PlanLimitReached as PlanLimitReached
from lisens.domain.seats import SeatCount
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.moves import record_snapshots
from lisens.service.results import FencingRead, MetricRead, TenantPlanChangeRead
from lisens.service.scheduling import schedulable
from lisens.service.state import TenantState, load_state
from lisens.service.superoffice_carriers import FencingInfo

NEARING = 0.85  # IsNearingMaximum from 85% of the limit (the documented yellow warning)
UNLIMITED = -1


def tenant_plan(state: TenantState) -> str | None:
    """The tenant-wide plan of a CRM Suite tenant: the one it has seats of."""
    for key in state.catalog.plans:
        if state.seat_total(key) > 0:
            return key
    return None


def _usage(ctx: Context, state: TenantState) -> dict[str, int]:
    return UsageRepository(ctx.session).counts(state.id)


def _require_metric(state: TenantState, metric: str) -> str:
    if metric not in state.catalog.limits:
        known = ", ".join(state.catalog.limits) or "none in this generation"
        raise InvalidInput(
            f"{metric!r} is no plan-limit metric; known: {known}", code=Code.UNKNOWN_METRIC, metric=metric
        )
    return metric


def _counted(maximum: int, count: int) -> SeatCount:
    """A plan limit counts like seats: in use against a maximum (UNLIMITED: none)."""
    return SeatCount(None if maximum == UNLIMITED else maximum, count)


def _metric_view(state: TenantState, plan: str | None, metric: str, count: int) -> MetricRead:
    limits = state.catalog.plans[plan].limits if plan else {}
    maximum = limits.get(metric, UNLIMITED)
    used = _counted(maximum, count)
    reached = not used.can_take()
    nearing = used.total is not None and used.total > 0 and count >= NEARING * used.total
    message = None
    if reached:
        message = "Limit reached - the feature is restricted"
    elif nearing:
        message = f"{count} of {maximum} used"
    return MetricRead(
        metric=metric,
        name=state.catalog.limits[metric],
        ActiveCount=count,
        Maximum=maximum,
        IsNearingMaximum=nearing or reached,
        HasReachedMaximum=reached,
        WarningMessage=message,
    )


def over_limits(limits: dict[str, int], usage: dict[str, int]) -> list[tuple[str, int, int]]:
    """(metric, used, maximum) of every metric used beyond what a plan's `limits` allow, by metric."""
    found = []
    for metric in sorted(limits):
        maximum = limits[metric]
        used = usage.get(metric, 0)
        if maximum != UNLIMITED and _counted(maximum, used).over > 0:
            found.append((metric, used, maximum))
    return found


def fencing(ctx: Context, tenant: str) -> FencingRead:
    """Every plan-limited metric: used, maximum (-1 = unlimited), nearing from 85%, reached at 100%."""
    state = load_state(ctx, tenant)
    plan = tenant_plan(state)
    usage = _usage(ctx, state)
    return FencingRead(
        tenant=tenant,
        generation=state.row.generation,
        plan=plan,
        metrics=[_metric_view(state, plan, metric, usage.get(metric, 0)) for metric in state.catalog.limits],
    )


def fencing_info(ctx: Context, tenant: str) -> FencingInfo:
    """SuperOffice's FencingInfo: the most constrained metric of the tenant's plan."""
    state = load_state(ctx, tenant)
    if not state.catalog.limits:
        return FencingInfo(
            ActiveCount=0,
            Maximum=UNLIMITED,
            IsNearingMaximum=False,
            HasReachedMaximum=False,
            WarningMessage=f"generation {state.row.generation} has no plan limits; they apply to CRM Suite plans",
            WarningTooltip=None,
            TableRight=None,
            FieldProperties={},
        )
    views = fencing(ctx, tenant).metrics

    def pressure(view: MetricRead) -> float:
        if view.Maximum == UNLIMITED:
            return -1.0
        return float(view.ActiveCount) / view.Maximum if view.Maximum else float(view.ActiveCount > 0) + 1

    top = max(views, key=pressure)
    return FencingInfo(
        ActiveCount=top.ActiveCount,
        Maximum=top.Maximum,
        IsNearingMaximum=top.IsNearingMaximum,
        HasReachedMaximum=top.HasReachedMaximum,
        WarningMessage=top.WarningMessage or f"{top.name}: {top.ActiveCount} used",
        WarningTooltip=top.name,
        TableRight=None,
        FieldProperties={},
    )


def _write_usage(ctx: Context, state: TenantState, metric: str, count: int, *, at: datetime, action: str) -> None:
    before = UsageRepository(ctx.session).set(state.id, metric, count, at=utc(at))
    AuditRepository(ctx.session).add(
        state.id,
        at=utc(at),
        actor=ctx.actor,
        action=action,
        subject=metric,
        before={"count": before},
        after={"count": count},
    )
    ctx.session.flush()


@schedulable
def set_usage(ctx: Context, tenant: str, metric: str, count: int, *, at: datetime | None = None) -> MetricRead:
    """Report how much is in use (a fact: accepted even above the limit, which then shows as reached)."""
    if count < 0:
        raise InvalidInput(f"usage {count} must be 0 or more", code=Code.INVALID_NUMBER, value=count)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    _write_usage(ctx, state, _require_metric(state, metric), count, at=at, action="usage.set")
    return _metric_view(state, tenant_plan(state), metric, count)


@schedulable
def add_usage(ctx: Context, tenant: str, metric: str, count: int = 1, *, at: datetime | None = None) -> MetricRead:
    """Create `count` more (a dashboard, a project, …): refused with PLAN_LIMIT_REACHED beyond the limit."""
    if count <= 0:
        raise InvalidInput(f"count {count} must be 1 or more", code=Code.INVALID_NUMBER, value=count)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    _require_metric(state, metric)
    plan = tenant_plan(state)
    current = _usage(ctx, state).get(metric, 0)
    view = _metric_view(state, plan, metric, current)
    if not _counted(view.Maximum, current).can_take(count):
        raise PlanLimitReached(
            f"{view.name}: {current} of {view.Maximum} used on plan {plan}; upgrade the plan to create more",
            metric=metric,
            active=current,
            maximum=view.Maximum,
            plan=plan,
        )
    _write_usage(ctx, state, metric, current + count, at=at, action="usage.add")
    return _metric_view(state, plan, metric, current + count)


@schedulable
def change_tenant_plan(ctx: Context, tenant: str, to: str, *, at: datetime | None = None) -> TenantPlanChangeRead:
    """Move a CRM Suite tenant to another plan: its seats and every seated user, at once.

    Refused with PLAN_LIMIT_REACHED when what is in use does not fit the new plan's limits.
    """
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    if not state.catalog.tenant_plan:
        raise InvalidInput(f"generation {state.row.generation} has no tenant-wide plan", code=Code.NO_TENANT_PLAN)
    if to not in state.catalog.plans:
        raise NotFound(f"generation {state.row.generation} has no plan {to!r}", code=Code.UNKNOWN_PLAN, plan=to)
    current = tenant_plan(state)
    usage = _usage(ctx, state)
    over = [
        _metric_view(state, to, metric, usage.get(metric, 0))
        for metric in state.catalog.limits
        if _counted(state.catalog.plans[to].limits.get(metric, UNLIMITED), usage.get(metric, 0)).over
    ]
    if over:
        raise PlanLimitReached(
            "in use above the limits of plan "
            + to
            + ": "
            + ", ".join(f"{v.name} {v.ActiveCount}/{v.Maximum}" for v in over),
            plan=to,
            metrics=[v.metric for v in over],
        )
    if current == to:
        return TenantPlanChangeRead(tenant=tenant, plan=to, changed=False)
    seats = state.seat_total(current) if current else 0
    purchases = PurchaseRepository(ctx.session)
    if current:
        purchases.set_seats(state.id, kind="plan", item=current, number=0)
    purchases.set_seats(state.id, kind="plan", item=to, number=seats)
    users = UserRepository(ctx.session)
    for name in users.holders_of_plan(state.id, current) if current else []:
        row = users.get(state.id, name)
        if row is not None:
            users.set_plan(state.id, row.id, to)
    # One tenant snapshot and one per user, as a move writes: history and invoices follow.
    record_snapshots(ctx, tenant, action="plan.change", subject=f"{current} -> {to}", at=utc(at))
    return TenantPlanChangeRead(tenant=tenant, plan=to, from_plan=current, changed=True, seats=seats)
