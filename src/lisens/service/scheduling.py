"""A vendor's changes dated in the future: kept until their time, then applied as if made then.

A use case marked `@schedulable` that the vendor calls with an `at` after the server's clock is not
applied: it is stored (operation and arguments) and recorded in the tenant's log as scheduled. Due
changes are applied, in the order they fall due and each at its own time, before any later change
of the tenant, when a subscription renews, and by `lisens schedule run`. A due change that can no
longer be made (the seats are in use, say) is marked failed with its error code, in the log too.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from lisens.db.models import ScheduledChangeRow, TenantRow
from lisens.db.repositories import APPLYING_SCHEDULED, AuditRepository, ScheduledChangeRepository, TenantRepository
from lisens.domain.errors import Code, InvalidInput, LisensError, NotFound
from lisens.domain.times import require_time, utc
from lisens.service.clock import change_time, not_before_log, require_vendor_time
from lisens.service.context import Context
from lisens.service.results import ScheduledChangeRead, ScheduledRead
from lisens.service.state import load_state, require_tenant_row

P = ParamSpec("P")
R = TypeVar("R")
Operation = Callable[..., object]

# The modules of the schedulable use cases; a stored change names its use case `module.function`.
SCHEDULABLE_MODULES = ("tenants", "users", "subscriptions", "fencing")


def schedulable(func: Callable[P, R]) -> Callable[P, R | ScheduledRead]:
    """Mark a use case `(ctx, tenant, ..., at=None)` as one the vendor may date in the future: called with a
    future `at` by the vendor, it answers the stored change (`ScheduledRead`) instead of its own result."""
    name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | ScheduledRead:
        bound = signature.bind(*args, **kwargs)
        ctx: Context = bound.arguments["ctx"]
        tenant: str = bound.arguments["tenant"]
        at: datetime | None = bound.arguments.get("at")
        if at is not None and utc(require_time(at)) > ctx.now():
            params = {key: value for key, value in bound.arguments.items() if key not in ("ctx", "tenant", "at")}
            return schedule_change(ctx, tenant, name, params, effective=utc(at))
        apply_due_changes(ctx, tenant, until=utc(at) if at is not None else None)
        return func(*args, **kwargs)

    return wrapper


def _plain(params: dict[str, Any], operation: str) -> dict[str, Any]:
    """The arguments as JSON values (sequences become lists); anything else cannot wait in the database."""
    try:
        return dict(json.loads(json.dumps(params, allow_nan=False)))
    except (TypeError, ValueError):
        raise InvalidInput(f"{operation} cannot be scheduled with these arguments", code=Code.NOT_SCHEDULABLE) from None


def schedule_change(
    ctx: Context, tenant: str, operation: str, params: dict[str, Any], *, effective: datetime
) -> ScheduledRead:
    require_vendor_time(ctx, effective, doing="schedule one")
    state = load_state(ctx, tenant, lock=True)
    now = change_time(ctx, state.row)
    row = ScheduledChangeRepository(ctx.session).add(
        state.id,
        ScheduledChangeRow(
            effective=effective,
            operation=operation,
            params=_plain(params, operation),
            requested_at=now,
            requested_by=ctx.actor,
            state="pending",
            outcome="",
        ),
    )
    _next_change(ctx, state.row)
    view = change_view(row)
    AuditRepository(ctx.session).add(
        state.id, at=now, actor=ctx.actor, action="change.scheduled", subject=operation, after=view.plain()
    )
    return ScheduledRead(scheduled=view)


def applied(result: R | ScheduledRead) -> R:
    """The result of a use case called without a future `at`, which is applied, never scheduled."""
    if isinstance(result, ScheduledRead):
        raise TypeError(f"{result.scheduled.operation} was scheduled where it had to be applied")
    return result


def change_view(row: ScheduledChangeRow) -> ScheduledChangeRead:
    return ScheduledChangeRead(
        id=row.id,
        operation=row.operation,
        params=row.params,
        effective=utc(row.effective).isoformat(),
        requested_at=utc(row.requested_at).isoformat(),
        requested_by=row.requested_by,
        state=row.state,
        done_at=utc(row.done_at).isoformat() if row.done_at else None,
        outcome=row.outcome,
    )


def _operation(name: str) -> Operation:
    """The use case a stored change names (`tenants.set_seats`), without its `@schedulable` wrapper: a due
    change is applied, not scheduled again."""
    module, _, function = name.partition(".")
    if module not in SCHEDULABLE_MODULES:
        raise KeyError(name)
    operation: Operation = getattr(importlib.import_module(f"lisens.service.{module}"), function).__wrapped__
    return operation


def apply_due_changes(ctx: Context, tenant: str, *, until: datetime | None = None) -> list[ScheduledChangeRead]:
    """Apply the tenant's scheduled changes due by `until` (now), in order, each at its own time."""
    if ctx.session.info.get(APPLYING_SCHEDULED):
        return []
    row = require_tenant_row(ctx, tenant)
    now = min(until, ctx.now()) if until is not None else ctx.now()
    if row.next_change_at is None or utc(row.next_change_at) > now:
        return []  # the common case: nothing is due, and no query was needed to know
    repo = ScheduledChangeRepository(ctx.session)
    locked = TenantRepository(ctx.session).lock(row.id)
    done: list[ScheduledChangeRead] = []
    ctx.session.info[APPLYING_SCHEDULED] = True
    try:
        for change in repo.due(row.id, until=now):
            moment = not_before_log(locked, utc(change.effective))
            vendor = replace(ctx, may_correct=True, actor=f"{change.requested_by} (scheduled)")
            try:
                with ctx.session.begin_nested():
                    _operation(change.operation)(vendor, tenant, **change.params, at=moment)
                change.state, change.outcome = "applied", ""
            except LisensError as error:
                change.state, change.outcome = "failed", f"{error.code}: {error.message}"[:1000]
                AuditRepository(ctx.session).add(
                    row.id,
                    at=moment,
                    actor=vendor.actor,
                    action="change.failed",
                    subject=change.operation,
                    after={"id": change.id, "code": error.code, "message": error.message},
                )
            change.done_at = moment
            done.append(change_view(change))
    finally:
        ctx.session.info.pop(APPLYING_SCHEDULED, None)
    _next_change(ctx, locked)
    ctx.session.flush()
    return done


def _next_change(ctx: Context, tenant: TenantRow) -> None:
    tenant.next_change_at = ScheduledChangeRepository(ctx.session).first_pending(tenant.id)


def list_changes(ctx: Context, tenant: str, *, pending_only: bool = False) -> list[ScheduledChangeRead]:
    state = load_state(ctx, tenant)
    return [
        change_view(row) for row in ScheduledChangeRepository(ctx.session).listed(state.id, pending_only=pending_only)
    ]


def cancel_change(ctx: Context, tenant: str, change_id: int) -> ScheduledChangeRead:
    """Cancel a pending scheduled change (recorded in the log); an applied or failed one stays as it was."""
    state = load_state(ctx, tenant, lock=True)
    row = ScheduledChangeRepository(ctx.session).get(state.id, change_id)
    if row is None:
        raise NotFound(f"tenant {tenant!r} has no scheduled change {change_id}", code=Code.UNKNOWN_SCHEDULED_CHANGE)
    if row.state != "pending":
        raise InvalidInput(
            f"scheduled change {change_id} is {row.state}, not pending", code=Code.NOT_PENDING, state=row.state
        )
    now = change_time(ctx, state.row)
    row.state, row.done_at = "cancelled", now
    _next_change(ctx, state.row)
    AuditRepository(ctx.session).add(
        state.id, at=now, actor=ctx.actor, action="change.cancelled", subject=row.operation, after={"id": row.id}
    )
    return change_view(row)


def run_due(ctx: Context, tenant: str | None = None) -> dict[str, list[ScheduledChangeRead]]:
    """Apply every due change of one tenant, or of every tenant that has one (`lisens schedule run`)."""
    if tenant is not None:
        return {tenant: apply_due_changes(ctx, tenant)}
    names = TenantRepository(ctx.session).names_of(
        ScheduledChangeRepository(ctx.session).tenants_with_due(until=ctx.now())
    )
    return {name: apply_due_changes(ctx, name) for name in names}
