"""When a change happens: the server's clock, read under the tenant's lock; or a vendor's exact correction."""

from __future__ import annotations

from datetime import datetime

from lisens.db.models import TenantRow
from lisens.db.repositories import (
    APPLYING_SCHEDULED,
    CORRECTED_TENANTS,
    STAMPED_TENANTS,
    SubscriptionRepository,
    TenantRepository,
)
from lisens.domain.errors import ChangeBeforeHistory, Code, InvalidInput, TimeNotAllowed
from lisens.domain.times import require_time, utc
from lisens.service.context import Context


def change_time(ctx: Context, tenant: TenantRow, requested: datetime | None = None) -> datetime:
    """The time of the change this unit of work makes to `tenant`, whose row it has locked.

    Without `requested` it is the server's clock, never earlier than the tenant's last entry, so the
    log's times follow its order. With `requested` it is a vendor's correction, accepted only when it
    can be recorded exactly: not in the future, not before the last entry of the log, not before an
    issued invoice. Anything else is refused with a stable code; nothing is recorded at a wrong time.
    """
    if not TenantRepository(ctx.session).is_locked(tenant.id):
        raise RuntimeError(f"tenant {tenant.name!r} must be locked before its change is stamped")
    stamped: dict[int, datetime] = ctx.session.info.setdefault(STAMPED_TENANTS, {})
    if requested is not None and stamped.get(tenant.id) == utc(requested):
        return stamped[tenant.id]  # a use case called by another one: the same change, the same time
    now = ctx.now()
    last = utc(tenant.log_at) if tenant.log_at is not None else None
    if requested is None:
        moment = not_before_log(tenant, now)
    else:
        moment = correction_time(ctx, tenant, utc(require_time(requested)), now=now, last=last)
        if not ctx.session.info.get(APPLYING_SCHEDULED):  # a scheduled change made at its time is no correction
            ctx.session.info.setdefault(CORRECTED_TENANTS, {})[tenant.id] = moment
    stamped[tenant.id] = moment
    return moment


def not_before_log(tenant: TenantRow, moment: datetime) -> datetime:
    """`moment`, or the time of the tenant's last log entry if that is later: the log never goes back in
    time (the server's clock can, and a scheduled change can fall due after a later change was made)."""
    return max(moment, utc(tenant.log_at)) if tenant.log_at is not None else moment


def require_vendor_time(ctx: Context, requested: datetime, *, doing: str) -> None:
    """Only the vendor gives the time of a change (`doing`: what it asked for); the server's clock decides."""
    if not ctx.may_correct:
        raise TimeNotAllowed(
            f"the server's clock decides when a change happens; only the vendor may {doing} "
            f"(asked for {requested.isoformat()})",
            at=requested.isoformat(),
        )


def correction_time(
    ctx: Context, tenant: TenantRow, requested: datetime, *, now: datetime, last: datetime | None
) -> datetime:
    require_vendor_time(ctx, requested, doing="record a correction")
    if requested > now:
        raise InvalidInput(
            f"a change cannot be recorded in the future ({requested.isoformat()} is after {now.isoformat()}); "
            "make it when it is due, or use the scheduled forms (seat lowering at the term end, "
            "`move apply --at-renewal`)",
            code=Code.CHANGE_IN_FUTURE,
            at=requested.isoformat(),
        )
    if last is not None and requested < last:
        raise ChangeBeforeHistory(
            f"a correction at {requested.isoformat()} comes before the tenant's last recorded change "
            f"({last.isoformat()}, entry {tenant.log_seq}): history after it could not stay exact",
            at=requested.isoformat(),
            last=last.isoformat(),
        )
    invoice = SubscriptionRepository(ctx.session).last_invoice(tenant.id)
    if invoice is not None and invoice.issued >= requested.date():
        raise ChangeBeforeHistory(
            f"a correction at {requested.isoformat()} comes before invoice {invoice.number}, issued "
            f"{invoice.issued.isoformat()}: that invoice would change",
            at=requested.isoformat(),
            invoice=invoice.number,
        )
    return requested
