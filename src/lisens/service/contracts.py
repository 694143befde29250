"""A tenant's contract (its subscription terms) as the billing domain sees it."""

from __future__ import annotations

from collections.abc import Sequence

from lisens.db.repositories import CohortRepository, SubscriptionRepository
from lisens.domain.billing import Contract, PeriodChange
from lisens.domain.errors import Code, NotFound
from lisens.service.context import Context
from lisens.service.state import TenantState


def contract_of(ctx: Context, tenant_id: int) -> Contract | None:
    repo = SubscriptionRepository(ctx.session)
    row = repo.get(tenant_id)
    if row is None:
        return None
    changes = tuple(PeriodChange(c.requested, c.months) for c in repo.period_changes(tenant_id))
    return Contract(start=row.start, period=row.period, changes=changes, cancelled=row.cancelled)


def require_contract(ctx: Context, state: TenantState) -> Contract:
    contract = contract_of(ctx, state.id)
    if contract is None:
        raise NotFound(
            f"tenant {state.row.name!r} has no subscription", code=Code.NO_SUBSCRIPTION, tenant=state.row.name
        )
    return contract


def contracts_of(ctx: Context, tenant_ids: Sequence[int]) -> dict[int, Contract]:
    """The contracts of many tenants (at most CHUNK ids) in two statements; a tenant without a subscription
    has none here."""
    return {
        tenant_id: Contract(
            start=start,
            period=period,
            changes=tuple(PeriodChange(requested, months) for requested, months in changes),
            cancelled=cancelled,
        )
        for tenant_id, (start, period, cancelled, changes) in CohortRepository(ctx.session)
        .subscriptions(tenant_ids)
        .items()
    }
