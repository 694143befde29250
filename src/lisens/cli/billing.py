"""`lisens subscription|invoice|invoices|prices …`: the contract, its renewals and invoices."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.cli.runtime import At, ChangeAt, Json, at_option, change_at, runtime, show_scheduled
from lisens.domain.errors import Code, InvalidInput
from lisens.domain.times import require_day

if TYPE_CHECKING:
    from lisens.service import subscriptions as service
    from lisens.service.results import InvoiceRead, SubscriptionRead
else:
    service = lazy_module("lisens.service.subscriptions")


subscription_app = typer.Typer(
    help="A tenant's subscription: billing period, 12-month contract, renewals.", no_args_is_help=True
)
invoice_app = typer.Typer(help="The next invoice.", no_args_is_help=True)
prices_app = typer.Typer(help="Price lists (monthly prices per plan, combined plan and add-on).", no_args_is_help=True)

Period = Annotated[int, typer.Option("--period", help="Billing period in months: 1, 3, 6 or 12.")]


def _date(text: str, option: str) -> date:
    try:
        return require_day(date.fromisoformat(text))
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not an ISO date (YYYY-MM-DD)", code=Code.INVALID_TIME, value=text
        ) from None


def _print_subscription(data: SubscriptionRead) -> None:
    term = data.term
    console.print(
        f"{data.tenant}: since {data.start}, billed every {data.billing_period} months; "
        f"term {term.start if term else '-'} to {term.end if term else '-'}; "
        f"next renewal {data.next_renewal or 'none (cancelled)'}",
        markup=False,
        soft_wrap=True,
    )
    lic = data.license
    console.print(
        f"licenses: {lic.status}, expiry {lic.expiry}, grace {lic.grace}, warning from {lic.admin_warning}",
        markup=False,
    )
    if data.pending_period_change:
        console.print(
            f"billing period changes to {data.pending_period_change} months at the next renewal", markup=False
        )
    for row in data.scheduled:
        console.print(f"scheduled: {row.item} to {row.number} on {row.effective}", markup=False)
    if data.upcoming_invoice:
        _print_invoice(data.upcoming_invoice, "Upcoming invoice")


def _print_invoice(invoice: InvoiceRead, title: str) -> None:
    rows = [
        (
            line.kind,
            line.item,
            line.quantity,
            line.months,
            line.unit_monthly,
            line.amount,
            line.note,
        )
        for line in invoice.lines
    ]
    label = f"{title} {invoice.issued}" + (f" (no. {invoice.number})" if invoice.number else "")
    console.print(table(label, ["kind", "item", "qty", "months", "monthly", "amount", "note"], rows))
    console.print(f"total {invoice.total} {invoice.currency}", markup=False)


@subscription_app.command("create")
def create(
    ctx: typer.Context,
    tenant: str,
    period: Period,
    start: Annotated[str, typer.Option("--start", help="First day of the contract (YYYY-MM-DD).")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Start a subscription: a 12-month contract, then renewals of one billing period at a time."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.create_subscription(uow, tenant, start=_date(start, "--start"), period=period, at=change_at(at))
    print_json(data) if as_json else _print_subscription(data)


@subscription_app.command("show")
def show(ctx: typer.Context, tenant: str, at: At = None, as_json: Json = False) -> None:
    """Billing period, term, next renewal, license dates and the upcoming invoice."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.show_subscription(uow, tenant, at=at_option(ctx, at))
    print_json(data) if as_json else _print_subscription(data)


@subscription_app.command("change")
def change(ctx: typer.Context, tenant: str, period: Period, at: ChangeAt = None, as_json: Json = False) -> None:
    """Change the billing period; it takes effect at the next renewal."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.change_period(uow, tenant, period=period, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    print_json(data) if as_json else _print_subscription(data)


@subscription_app.command("cancel")
def cancel(ctx: typer.Context, tenant: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Cancel: the subscription ends with the current term."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.cancel_subscription(uow, tenant, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    print_json(data) if as_json else _print_subscription(data)


@subscription_app.command("renew")
def renew(ctx: typer.Context, tenant: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Bring the subscription up to date: apply due scheduled changes, issue due invoices (idempotent)."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.renew(uow, tenant, at=change_at(at))
    if as_json:
        print_json(data)
        return
    for row in data.applied:
        console.print(f"{row.effective}: {row.item} set to {row.total} (asked {row.asked})", markup=False)
        if row.unassign:
            console.print(
                f"  {len(row.holders) - row.asked} users hold more than the new number; unassign some of: "
                f"{', '.join(row.holders)}",
                markup=False,
                soft_wrap=True,
            )
    for invoice in data.issued:
        _print_invoice(invoice, "Issued")
    if not data.applied and not data.issued:
        console.print(f"{tenant}: nothing due on {data.at}", markup=False)


@invoice_app.command("preview")
def preview(ctx: typer.Context, tenant: str, at: At = None, as_json: Json = False) -> None:
    """The next invoice, as it stands now."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.preview_invoice(uow, tenant, at=at_option(ctx, at))
    if as_json:
        print_json(data)
    elif data is None:
        console.print("no invoice ahead (the subscription ends)", markup=False)
    else:
        _print_invoice(data, "Next invoice")


def invoices_command(
    ctx: typer.Context,
    tenant: str,
    start: Annotated[str, typer.Option("--from", help="First issue date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Up to this issue date, excluded (YYYY-MM-DD).")],
    as_json: Json = False,
) -> None:
    """Invoices issued between two dates: issued ones as they were, later ones as they will be."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.list_invoices(uow, tenant, start=_date(start, "--from"), end=_date(end, "--to"))
    if as_json:
        print_json(data)
        return
    rows = [(i.issued, i.number or "", "issued" if i.final else "to come", f"{i.total} {i.currency}") for i in data]
    console.print(table(f"{len(rows)} invoices of {tenant}", ["issued", "no.", "state", "total"], rows))


@prices_app.command("show")
def prices_show(
    ctx: typer.Context,
    generation: Annotated[str, typer.Option("--generation", "-g", help="Packaging generation.")],
    as_json: Json = False,
) -> None:
    """The monthly prices of a generation (the shipped ones are examples, not real prices)."""
    settings = runtime(ctx).settings
    from lisens.catalog.prices import load_price_list  # only this command reads price lists

    prices = load_price_list(generation, settings.prices_dir, catalog_dir=settings.catalog_dir)
    monthly = {k: str(v) for k, v in prices.monthly.items()}
    addons = {k: str(v) for k, v in prices.addons.items()}
    data = {
        "generation": prices.generation,
        "currency": prices.currency,
        "example": prices.example,
        "monthly": monthly,
        "addons": addons,
    }
    if as_json:
        print_json(data)
        return
    title = f"Monthly prices, generation {prices.generation}, {prices.currency}" + (
        " (EXAMPLE prices)" if prices.example else ""
    )
    rows = [*monthly.items(), *((f"add-on {k}", v) for k, v in addons.items())]
    console.print(table(title, ["item", "monthly"], rows))
