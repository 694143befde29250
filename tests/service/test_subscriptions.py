"""Subscriptions on the database: contract, renewals, scheduled lowerings, upgrades, invoices, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lisens.domain.errors import LisensError
from lisens.service import subscriptions, tenants, users
from lisens.service.context import Context
from tests.db.helpers import make_tenant


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def subscribed(ctx: Context, *, period: int = 3, seats: int = 5) -> str:
    make_tenant(ctx, seats={"sales-essential": seats})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=period, at=at("2026-01-01T09:00"))
    return "acme"


def test_a_subscription_shows_its_term_renewal_and_license_dates(ctx: Context) -> None:
    subscribed(ctx, period=3)
    shown = subscriptions.show_subscription(ctx, "acme", at=at("2026-05-10"))
    assert shown.term.plain() == {"start": "2026-01-01", "end": "2027-01-01"}
    assert shown.current_billing_period.plain() == {"start": "2026-04-01", "end": "2026-07-01", "months": 3}
    assert shown.next_renewal == "2027-01-01"
    assert shown.license.plain() == {
        "expiry": "2027-01-01",
        "grace": "2027-01-13",
        "admin_warning": "2026-12-01",
        "status": "ACTIVE",
    }
    assert shown.upcoming_invoice.issued == "2026-07-01"


def test_a_second_subscription_and_a_bad_period_are_refused(ctx: Context) -> None:
    subscribed(ctx)
    with pytest.raises(LisensError) as twice:
        subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=1, at=at("2026-01-01T09:00"))
    assert twice.value.code == "SUBSCRIPTION_EXISTS"
    with pytest.raises(LisensError) as bad:
        subscriptions.change_period(ctx, "acme", period=2, at=at("2026-02-01"))
    assert bad.value.code == "INVALID_BILLING_PERIOD"


def test_a_billing_period_change_applies_at_the_next_renewal(ctx: Context) -> None:
    subscribed(ctx, period=3)
    subscriptions.change_period(ctx, "acme", period=1, at=at("2026-06-01"))
    before = subscriptions.show_subscription(ctx, "acme", at=at("2026-06-02"))
    assert (before.billing_period, before.pending_period_change, before.next_billing_period) == (3, 1, 1)
    after = subscriptions.show_subscription(ctx, "acme", at=at("2027-01-10"))
    assert after.term.plain() == {"start": "2027-01-01", "end": "2027-02-01"}


def test_a_lowering_waits_for_the_end_of_the_term_and_never_goes_below_what_is_in_use(ctx: Context) -> None:
    subscribed(ctx, seats=3)
    for name in ("alice", "bob", "carol"):
        users.assign(ctx, "acme", name, plans=["sales-essential"], at=at("2026-02-01"))
    scheduled = tenants.set_seats(ctx, "acme", "sales-essential", 1, at=at("2026-03-01"))
    assert scheduled.scheduled.plain() == {"effective": "2027-01-01", "number": 1}
    assert scheduled.total == 3  # nothing changes before the renewal
    report = subscriptions.renew(ctx, "acme", at=at("2027-01-02"))
    applied = report.applied[0]
    assert (applied.asked, applied.total) == (1, 3)
    assert len(applied.unassign) == 2
    assert applied.holders == ["alice", "bob", "carol"]


def test_renewal_applies_a_lowering_that_fits_and_bills_the_new_number(ctx: Context) -> None:
    subscribed(ctx, period=12, seats=10)
    tenants.set_seats(ctx, "acme", "sales-essential", 4, at=at("2026-06-01"))
    subscriptions.renew(ctx, "acme", at=at("2027-01-01"))
    issued = subscriptions.list_invoices(ctx, "acme", start=date(2027, 1, 1), end=date(2027, 1, 2))
    assert issued[0].lines[0].quantity == 4
    assert issued[0].final


def test_renewal_is_idempotent(ctx: Context) -> None:
    subscribed(ctx)
    first = subscriptions.renew(ctx, "acme", at=at("2026-08-01"))
    second = subscriptions.renew(ctx, "acme", at=at("2026-08-01"))
    assert [i.issued for i in first.issued] == ["2026-01-01", "2026-04-01", "2026-07-01"]
    assert second.issued == []
    assert second.applied == []


def test_adding_seats_mid_period_is_invoiced_pro_rata_at_once(ctx: Context) -> None:
    subscribed(ctx, period=3, seats=5)
    tenants.set_seats(ctx, "acme", "sales-essential", 7, at=at("2026-02-15"))
    issued = subscriptions.list_invoices(ctx, "acme", start=date(2026, 2, 15), end=date(2026, 2, 16))
    line = issued[0].lines[0]
    # 2 seats x 39.00 x 3 months x 45 of 90 days
    assert (line.kind, line.quantity, line.amount) == ("proration", 2, "117.00")


def test_an_upgrade_moves_seats_and_users_at_once_and_charges_the_difference(ctx: Context) -> None:
    subscribed(ctx, period=1, seats=2)
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=at("2026-01-02"))
    users.assign(ctx, "acme", "bob", plans=["sales-essential"], at=at("2026-01-02"))
    with pytest.raises(LisensError) as caught:
        tenants.upgrade_seats(
            ctx, "acme", from_plan="sales-essential", to_plan="sales-premium", number=1, at=at("2026-01-11")
        )
    assert caught.value.code == "SEATS_BELOW_IN_USE"
    tenants.upgrade_seats(
        ctx,
        "acme",
        from_plan="sales-essential",
        to_plan="sales-premium",
        number=1,
        users=["alice"],
        at=at("2026-01-11"),
    )
    assert users.show_user(ctx, "acme", "alice").plan == "sales-premium"
    issued = subscriptions.list_invoices(ctx, "acme", start=date(2026, 1, 11), end=date(2026, 1, 12))
    # (59.00 - 39.00) x 21 of 31 days
    assert Decimal(issued[0].total) == Decimal("13.55")


def test_invoiced_quantities_equal_the_seats_granted_on_each_issue_date(ctx: Context) -> None:
    subscribed(ctx, period=1, seats=3)
    tenants.set_seats(ctx, "acme", "sales-essential", 6, at=at("2026-03-10"))
    tenants.set_seats(ctx, "acme", "sales-premium", 2, at=at("2026-05-20"))
    for invoice in subscriptions.list_invoices(ctx, "acme", start=date(2026, 1, 1), end=date(2026, 8, 1)):
        for line in invoice.lines:
            if line.kind == "plan":
                expected = {"sales-essential": 3 if invoice.issued < "2026-03-10" else 6, "sales-premium": 2}
                assert line.quantity == expected[line.item]


def test_checks_pass_in_grace_with_a_warning_and_fail_after_it(ctx: Context) -> None:
    subscribed(ctx)
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=at("2026-01-02"))
    subscriptions.cancel_subscription(ctx, "acme", at=at("2026-03-01"))
    active = users.check(ctx, "acme", "alice", ["sale-cal"], at=at("2026-12-01"))[0]
    grace = users.check(ctx, "acme", "alice", ["sale-cal"], at=at("2027-01-05"))[0]
    expired = users.check(ctx, "acme", "alice", ["sale-cal"], at=at("2027-01-13"))[0]
    early = users.check(ctx, "acme", "alice", ["sale-cal"], at=at("2025-12-31"))[0]
    assert (active.held, active.warning) == (True, None)
    assert (grace.held, grace.warning) == (True, "LICENSE_IN_GRACE")
    assert (expired.held, expired.reason) == (False, "LICENSE_EXPIRED")
    assert (early.held, early.reason) == (False, "LICENSE_NOT_STARTED")


def test_a_tenant_without_a_subscription_never_expires(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=at("2026-01-02"))
    assert users.check(ctx, "acme", "alice", ["sale-cal"], at=at("2099-01-01"))[0].held
    with pytest.raises(LisensError) as caught:
        subscriptions.show_subscription(ctx, "acme", at=at("2026-01-01"))
    assert caught.value.code == "NO_SUBSCRIPTION"


def test_add_ons_are_invoiced_every_month(ctx: Context) -> None:
    subscribed(ctx, period=12, seats=1)
    tenants.add_addon(ctx, "acme", "cep", at=at("2026-01-01T10:00:00"))
    issued = subscriptions.list_invoices(ctx, "acme", start=date(2026, 1, 1), end=date(2027, 1, 1))
    assert len(issued) == 12
    assert sum(Decimal(i.total) for i in issued) == Decimal("39.00") * 12 + Decimal("150.00") * 12


def test_a_due_lowering_is_applied_before_a_later_change_is_recorded(ctx: Context) -> None:
    subscribed(ctx, period=12, seats=10)
    tenants.set_seats(ctx, "acme", "sales-essential", 4, at=at("2026-06-01"))
    tenants.set_seats(ctx, "acme", "sales-premium", 2, at=at("2027-02-10"))  # no renew run in between
    issued = subscriptions.list_invoices(ctx, "acme", start=date(2027, 1, 1), end=date(2027, 3, 1))
    assert issued[0].lines[0].quantity == 4  # the renewal on 2027-01-01 billed the lowered number
