"""What the decision needs from storage: a tenant's term at a moment, and its users as holders.

The rules themselves are in `lisens.domain.decide`; this module only loads their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from lisens.db.models import UserRow
from lisens.db.repositories import UserRepository
from lisens.domain.decide import Holder, Term, term_at
from lisens.domain.engine import TenantLicenses, require_plan, resolve
from lisens.domain.model import Plan
from lisens.domain.times import utc
from lisens.service.context import Clock, Context
from lisens.service.contracts import contract_of
from lisens.service.state import TenantState, resolve_user


def day_of(ctx: Context, at: datetime | None = None) -> date:
    """The day a decision is made for: `at`'s, or the server clock's."""
    return day_at(ctx.clock, at)


def day_at(clock: Clock, at: datetime | None = None) -> date:
    """The day a decision is made for: `at`'s, or `clock`'s now."""
    return (utc(at) if at is not None else utc(clock())).date()


def term_of(ctx: Context, state: TenantState, at: datetime | None = None) -> Term:
    """The tenant's term at `at` (the server's clock by default)."""
    return term_at(contract_of(ctx, state.id), day_of(ctx, at))


def holder_of(ctx: Context, state: TenantState, user: UserRow) -> Holder:
    """One user of the tenant as a holder (two queries: their plan and direct licenses)."""
    return Holder(user.name, user.retired, resolve_user(ctx, state, user))


def holders(ctx: Context, state: TenantState, names: Sequence[str] | None = None) -> dict[str, Holder]:
    """The tenant's users by name (all of them, or those named that exist), from three queries; each
    distinct (plan, direct licenses) is resolved once, as many users share one."""
    users = UserRepository(ctx.session)
    if names is None:
        rows = [(user_id, name, retired) for user_id, name, retired in users.names(state.id)]
        plans = users.all_plans(state.id)
        direct = users.all_licenses(state.id)
    else:
        found = users.by_names(state.id, names)
        rows = [(row.id, row.name, row.retired) for row in found]
        ids = [row.id for row in found]
        plans = users.plans_of(state.id, ids)
        direct = users.licenses_of(state.id, ids)
    tenant_held = state.licenses()
    nothing = TenantLicenses(held=frozenset(), sources={})
    resolved: dict[tuple[bool, str | None, tuple[str, ...]], Holder] = {}
    result: dict[str, Holder] = {}
    for user_id, name, retired in rows:
        shape = (True, None, ()) if retired else (False, plans.get(user_id), tuple(sorted(direct.get(user_id, ()))))
        shared = resolved.get(shape)
        if shared is None:
            plan: Plan | None = require_plan(state.catalog, shape[1]) if shape[1] else None
            resolution = resolve(state.catalog, nothing if retired else tenant_held, plan=plan, direct=shape[2])
            shared = resolved[shape] = Holder(name, retired, resolution)
        result[name] = shared if shared.name == name else Holder(name, retired, shared.resolution)
    return result
