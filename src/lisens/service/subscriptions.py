"""Subscriptions: the contract and its renewals tied to the licenses, invoices, and scheduled changes.

What is billed comes from what is granted: invoices are computed from the tenant's purchases as the
audit log recorded them (seats and add-ons at every change), so billing and licensing cannot drift.
"""

from __future__ import annotations

from datetime import date, datetime

from lisens.catalog.prices import load_price_list
from lisens.db.models import InvoiceRow, SubscriptionRow
from lisens.db.repositories import (
    TENANT_STATE_ACTIONS,
    AuditRepository,
    SubscriptionRepository,
)
from lisens.domain.billing import (
    History,
    Invoice,
    LicenseDates,
    PriceList,
    Purchases,
    invoices,
    license_dates,
    require_period,
)
from lisens.domain.errors import AlreadyExists, Code, Conflict, NotFound
from lisens.domain.names import is_superoffice_item
from lisens.domain.times import require_day, utc
from lisens.service.audit import require_intact
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.contracts import contract_of, require_contract
from lisens.service.moves import apply_due as apply_due_moves
from lisens.service.results import InvoiceRead, RenewalRead, SubscriptionRead
from lisens.service.scheduling import apply_due_changes, schedulable
from lisens.service.state import TenantState, load_state
from lisens.service.tenants import apply_due_schedules


def _day(moment: datetime) -> date:
    return utc(moment).date()


def license_status(ctx: Context, state: TenantState, at: datetime) -> LicenseDates | None:
    """The tenant's license dates on `at`; None for a tenant without a subscription (no expiry)."""
    contract = contract_of(ctx, state.id)
    return license_dates(contract, _day(at)) if contract else None


def prices_for(ctx: Context, state: TenantState) -> dict[str, PriceList]:
    """The price list of every generation the tenant has been on (invoices follow a move)."""
    generations = {state.row.generation}
    for entry in AuditRepository(ctx.session).entries(state.id):
        if entry.action in TENANT_STATE_ACTIONS and isinstance(entry.after, dict) and entry.after.get("generation"):
            generations.add(str(entry.after["generation"]))
    current = {state.row.generation: load_price_list(state.row.generation, ctx.prices_dir, catalog_dir=ctx.catalog_dir)}
    others = {
        g: load_price_list(g, ctx.prices_dir, catalog_dir=ctx.catalog_dir) for g in sorted(generations - set(current))
    }
    return {**current, **others}


def history(ctx: Context, state: TenantState, *, with_scheduled: bool = True) -> History:
    """The purchases over time, from the audit log's tenant snapshots (plus pending scheduled changes).

    Only a log that still chains is billed from: an edited entry stops invoicing (AUDIT_LOG_TAMPERED)."""
    require_intact(ctx, state.row.name)
    snapshots: dict[date, Purchases] = {}
    for entry in AuditRepository(ctx.session).entries(state.id):
        if entry.action not in TENANT_STATE_ACTIONS or not isinstance(entry.after, dict):
            continue
        day = _day(entry.at)
        # Plans and SUPEROFFICE licenses are billed here; partner licenses are billed by their owners.
        seats = {k: int(v) for k, v in entry.after.get("seats", {}).items() if is_superoffice_item(k)}
        generation = str(entry.after.get("generation", state.row.generation))
        snapshots[day] = Purchases(day, seats, frozenset(entry.after.get("addons", [])), generation)
    if with_scheduled:
        for row in SubscriptionRepository(ctx.session).scheduled(state.id):
            base = History.of(snapshots.values()).at(row.effective)
            seats = dict(base.seats)
            seats[row.item] = row.number
            snapshots[row.effective] = Purchases(row.effective, seats, base.addons, base.generation)
    return History.of(snapshots.values())


def invoice_view(invoice: Invoice, *, number: int | None = None, issued: bool = False) -> InvoiceRead:
    return InvoiceRead(
        number=number,
        issued=invoice.issued.isoformat(),
        currency=invoice.currency,
        total=str(invoice.total),
        final=issued,
        lines=[
            {
                "kind": line.kind,
                "item": line.item,
                "quantity": line.quantity,
                "months": line.months,
                "unit_monthly": str(line.unit_monthly),
                "amount": str(line.amount),
                "start": line.start.isoformat(),
                "end": line.end.isoformat(),
                "note": line.note,
            }
            for line in invoice.lines
        ],
    )


def _stored_view(row: InvoiceRow) -> InvoiceRead:
    return InvoiceRead(
        number=row.number,
        issued=row.issued.isoformat(),
        currency=row.currency,
        total=f"{row.total_cents / 100:.2f}",
        final=True,
        lines=row.lines,
    )


def create_subscription(
    ctx: Context, tenant: str, *, start: date, period: int, at: datetime | None = None
) -> SubscriptionRead:
    require_day(start)
    require_period(period)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    repo = SubscriptionRepository(ctx.session)
    if repo.get(state.id) is not None:
        raise AlreadyExists(f"tenant {tenant!r} has a subscription already", code=Code.SUBSCRIPTION_EXISTS)
    repo.add(state.id, SubscriptionRow(start=start, period=period, created_at=utc(at)))
    AuditRepository(ctx.session).add(
        state.id,
        at=utc(at),
        actor=ctx.actor,
        action="subscription.create",
        subject=tenant,
        after={"start": start.isoformat(), "period": period},
    )
    state.row.version += 1
    ctx.session.flush()
    return show_subscription(ctx, tenant, at=at)


def show_subscription(ctx: Context, tenant: str, *, at: datetime) -> SubscriptionRead:
    state = load_state(ctx, tenant)
    contract = require_contract(ctx, state)
    day = _day(at)
    term = contract.term_at(day)
    periods = [p for p in contract.billing_periods(contract.last_term_end(day)) if day in p]
    dates = license_dates(contract, day)
    repo = SubscriptionRepository(ctx.session)
    pending = [
        c for c in repo.period_changes(state.id) if c.requested <= day and (term is None or c.requested >= term.start)
    ]
    upcoming = preview_invoice(ctx, tenant, at=at)
    return SubscriptionRead(
        tenant=tenant,
        at=day.isoformat(),
        start=contract.start.isoformat(),
        billing_period=contract.period if term is None or term.start == contract.start else term.months,
        term={"start": term.start.isoformat(), "end": term.end.isoformat()} if term else None,
        current_billing_period=(
            {"start": periods[0].start.isoformat(), "end": periods[0].end.isoformat(), "months": periods[0].months}
            if periods
            else None
        ),
        next_renewal=(renewal.isoformat() if (renewal := contract.next_renewal(day)) else None),
        next_billing_period=contract.period_at_renewal(term.end) if term else None,
        pending_period_change=pending[-1].months if pending else None,
        cancelled=contract.cancelled.isoformat() if contract.cancelled else None,
        license={
            "expiry": dates.expiry.isoformat(),
            "grace": dates.grace.isoformat(),
            "admin_warning": dates.admin_warning.isoformat(),
            "status": dates.status.value,
        },
        scheduled=[
            {"effective": row.effective.isoformat(), "item": row.item, "number": row.number}
            for row in repo.scheduled(state.id)
        ],
        upcoming_invoice=upcoming,
    )


@schedulable
def change_period(ctx: Context, tenant: str, *, period: int, at: datetime | None = None) -> SubscriptionRead:
    """A new billing period, in force from the next renewal."""
    require_period(period)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    contract = require_contract(ctx, state)
    if contract.next_renewal(_day(at)) is None:
        raise Conflict(f"tenant {tenant!r}'s subscription is cancelled or ended", code=Code.SUBSCRIPTION_ENDED)
    SubscriptionRepository(ctx.session).add_period_change(state.id, _day(at), period)
    AuditRepository(ctx.session).add(
        state.id, at=utc(at), actor=ctx.actor, action="subscription.period", subject=tenant, after={"period": period}
    )
    state.row.version += 1
    ctx.session.flush()
    return show_subscription(ctx, tenant, at=at)


@schedulable
def cancel_subscription(ctx: Context, tenant: str, *, at: datetime | None = None) -> SubscriptionRead:
    """Cancelled from the end of the current term (the contract end during the first 12 months)."""
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    row = SubscriptionRepository(ctx.session).get(state.id)
    if row is None:
        raise NotFound(f"tenant {tenant!r} has no subscription", code=Code.NO_SUBSCRIPTION)
    if row.cancelled is not None:
        return show_subscription(ctx, tenant, at=at)
    row.cancelled = _day(at)
    AuditRepository(ctx.session).add(
        state.id,
        at=utc(at),
        actor=ctx.actor,
        action="subscription.cancel",
        subject=tenant,
        after={"cancelled": row.cancelled.isoformat()},
    )
    state.row.version += 1
    ctx.session.flush()
    return show_subscription(ctx, tenant, at=at)


def preview_invoice(ctx: Context, tenant: str, *, at: datetime) -> InvoiceRead | None:
    """The next invoice to be issued on or after `at`, from what the tenant has and has scheduled."""
    state = load_state(ctx, tenant)
    contract = require_contract(ctx, state)
    day = _day(at)
    horizon = date(day.year + 2, day.month, 1)
    found = invoices(contract, prices_for(ctx, state), history(ctx, state), start=day, end=horizon)
    return invoice_view(found[0]) if found else None


def list_invoices(ctx: Context, tenant: str, *, start: date, end: date) -> list[InvoiceRead]:
    """Invoices issued in [start, end): the stored ones as issued, the others as they will be."""
    state = load_state(ctx, tenant)
    contract = require_contract(ctx, state)
    stored = {row.issued: row for row in SubscriptionRepository(ctx.session).invoices(state.id, start=start, end=end)}
    result = []
    for invoice in invoices(contract, prices_for(ctx, state), history(ctx, state), start=start, end=end):
        row = stored.pop(invoice.issued, None)
        result.append(_stored_view(row) if row is not None else invoice_view(invoice))
    result.extend(_stored_view(row) for row in stored.values())
    return sorted(result, key=lambda view: view.issued)


def renew(ctx: Context, tenant: str, *, at: datetime | None = None) -> RenewalRead:
    """Bring the subscription up to `at`: apply scheduled changes that are due, issue due invoices.

    Idempotent. A scheduled lowering never goes below what is in use at that moment: the seats stay
    at the number in use, and the report lists the users to unassign.
    """
    apply_due_changes(ctx, tenant, until=utc(at) if at is not None else None)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    contract = require_contract(ctx, state)
    repo = SubscriptionRepository(ctx.session)
    day = _day(at)
    applied = apply_due_schedules(ctx, tenant, at=at)
    moved = apply_due_moves(ctx, tenant, at=at)
    state = load_state(ctx, tenant)
    last = repo.last_invoice(state.id)
    start = date.fromordinal(last.issued.toordinal() + 1) if last else contract.start
    due = invoices(
        contract,
        prices_for(ctx, state),
        history(ctx, state, with_scheduled=False),
        start=start,
        end=date.fromordinal(day.toordinal() + 1),
    )
    number = last.number if last else 0
    issued = []
    for invoice in due:
        number += 1
        repo.add_invoice(
            state.id,
            InvoiceRow(
                number=number,
                issued=invoice.issued,
                currency=invoice.currency,
                total_cents=int(invoice.total * 100),
                lines=[line.plain() for line in invoice_view(invoice).lines],
                created_at=utc(at),
            ),
        )
        issued.append(invoice_view(invoice, number=number, issued=True))
        AuditRepository(ctx.session).add(
            state.id,
            at=utc(at),
            actor=ctx.actor,
            action="invoice.issue",
            subject=str(number),
            after={"number": number, "issued": invoice.issued.isoformat(), "total": str(invoice.total)},
        )
    if applied or issued or moved:
        AuditRepository(ctx.session).add(
            state.id,
            at=utc(at),
            actor=ctx.actor,
            action="subscription.renew",
            subject=tenant,
            after={
                "applied": [a.plain() for a in applied],
                "invoices": [i.number for i in issued],
                "moved": [m.plain() for m in moved],
            },
        )
        state.row.version += 1
        ctx.session.flush()
    dates = license_dates(contract, day)
    return RenewalRead(
        tenant=tenant,
        at=day.isoformat(),
        applied=applied,
        issued=issued,
        moved=moved,
        license={"expiry": dates.expiry.isoformat(), "status": dates.status.value},
    )
