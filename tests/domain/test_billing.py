"""Billing math: contract terms, billing periods, license dates, invoices and prorations."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lisens.domain.billing import (
    Contract,
    History,
    LicenseStatus,
    PeriodChange,
    PriceList,
    Purchases,
    add_months,
    invoices,
    license_dates,
    prorate,
    sum_amounts,
)
from lisens.domain.errors import InvalidInput

PRICES = PriceList(
    generation="11",
    currency="EUR",
    monthly={
        "sales-premium": Decimal("59.00"),
        "sales-essential": Decimal("39.00"),
        "service-premium": Decimal("49.50"),
    },
    addons={"cep": Decimal("100.00"), "development-tools": Decimal("33.33")},
)
starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
periods = st.sampled_from([1, 3, 6, 12])
quantities = st.integers(min_value=1, max_value=500)


def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_the_contract_runs_twelve_months_then_renews_one_billing_period_at_a_time() -> None:
    contract = Contract(start=date(2026, 1, 15), period=3)
    terms = contract.terms(date(2027, 9, 1))
    assert [(t.start, t.end) for t in terms] == [
        (date(2026, 1, 15), date(2027, 1, 15)),
        (date(2027, 1, 15), date(2027, 4, 15)),
        (date(2027, 4, 15), date(2027, 7, 15)),
        (date(2027, 7, 15), date(2027, 10, 15)),
    ]


def test_a_billing_period_change_takes_effect_at_the_next_renewal() -> None:
    contract = Contract(start=date(2026, 1, 1), period=1, changes=(PeriodChange(date(2026, 5, 10), 6),))
    periods_ = contract.billing_periods(date(2027, 8, 1))
    assert [p.months for p in periods_[:12]] == [1] * 12  # the first 12 months keep monthly billing
    assert (periods_[12].start, periods_[12].months) == (date(2027, 1, 1), 6)


def test_a_cancellation_takes_effect_at_the_end_of_the_current_term() -> None:
    contract = Contract(start=date(2026, 1, 1), period=1, cancelled=date(2026, 3, 1))
    assert contract.terms(date(2030, 1, 1))[-1].end == date(2027, 1, 1)  # the 12-month contract still holds
    later = Contract(start=date(2026, 1, 1), period=3, cancelled=date(2027, 2, 1))
    assert later.terms(date(2030, 1, 1))[-1].end == date(2027, 4, 1)
    assert later.next_renewal(date(2027, 2, 2)) is None


def test_license_dates_follow_the_documented_package_expiry_grace_and_warning() -> None:
    contract = Contract(start=date(2026, 3, 27), period=12)
    dates = license_dates(contract, date(2026, 6, 1))
    assert (dates.expiry, dates.grace, dates.admin_warning) == (date(2027, 3, 27), date(2027, 4, 8), date(2027, 2, 27))
    assert dates.status is LicenseStatus.ACTIVE


def test_a_renewal_extends_the_license_dates() -> None:
    contract = Contract(start=date(2026, 1, 1), period=3)
    assert license_dates(contract, date(2026, 12, 31)).expiry == date(2027, 1, 1)
    assert license_dates(contract, date(2027, 1, 1)).expiry == date(2027, 4, 1)


def test_after_cancellation_checks_pass_in_grace_and_fail_after_it() -> None:
    contract = Contract(start=date(2026, 1, 1), period=1, cancelled=date(2026, 6, 1))
    assert license_dates(contract, date(2026, 12, 15)).status is LicenseStatus.WARNING
    assert license_dates(contract, date(2027, 1, 5)).status is LicenseStatus.IN_GRACE
    assert license_dates(contract, date(2027, 1, 13)).status is LicenseStatus.EXPIRED
    assert license_dates(contract, date(2025, 12, 1)).status is LicenseStatus.NOT_STARTED


def test_an_unknown_billing_period_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        Contract(start=date(2026, 1, 1), period=2)
    assert caught.value.code == "INVALID_BILLING_PERIOD"


def test_a_quarterly_customer_is_invoiced_in_advance_each_quarter() -> None:
    contract = Contract(start=date(2026, 1, 1), period=3)
    history = History.of([Purchases(date(2026, 1, 1), {"sales-premium": 10})])
    issued = invoices(contract, PRICES, history, start=date(2026, 1, 1), end=date(2027, 1, 1))
    assert [i.issued for i in issued] == [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)]
    line = issued[0].lines[0]
    assert (line.item, line.quantity, line.months, line.amount) == ("sales-premium", 10, 3, Decimal("1770.00"))


def test_add_ons_are_billed_monthly_whatever_the_plans_period() -> None:
    contract = Contract(start=date(2026, 1, 1), period=12)
    history = History.of([Purchases(date(2026, 1, 1), {"sales-premium": 1}, frozenset({"cep"}))])
    issued = invoices(contract, PRICES, history, start=date(2026, 1, 1), end=date(2027, 1, 1))
    assert len(issued) == 12
    assert [line.kind for line in issued[0].lines] == ["plan", "addon"]
    assert all([line.kind for line in i.lines] == ["addon"] for i in issued[1:])


def test_adding_seats_mid_period_is_charged_by_days_for_the_rest_of_the_period() -> None:
    contract = Contract(start=date(2026, 1, 1), period=12)
    history = History.of(
        [Purchases(date(2026, 1, 1), {"sales-premium": 10}), Purchases(date(2026, 7, 2), {"sales-premium": 12})]
    )
    issued = invoices(contract, PRICES, history, start=date(2026, 1, 1), end=date(2027, 1, 1))
    proration = issued[1].lines[0]
    # 2 seats x 59.00 x 12 months x 183 remaining days / 365 days in the period
    assert proration.amount == Decimal("709.94")
    assert proration.amount == prorate(
        Decimal("59.00"), 2, contract.billing_periods(date(2027, 1, 1))[0], date(2026, 7, 2)
    )


def test_an_upgrade_mid_period_is_charged_the_price_difference_by_days() -> None:
    contract = Contract(start=date(2026, 1, 1), period=1)
    history = History.of(
        [
            Purchases(date(2026, 1, 1), {"sales-essential": 5}),
            Purchases(date(2026, 1, 11), {"sales-essential": 4, "sales-premium": 1}),
        ]
    )
    proration = invoices(contract, PRICES, history, start=date(2026, 1, 1), end=date(2026, 2, 1))[1]
    # (59.00 - 39.00) x 21 of 31 days
    assert proration.total == Decimal("13.55")


@given(starts, periods, quantities)
def test_a_year_of_invoices_sums_to_twelve_times_the_monthly_price_for_every_period(
    start: date, period: int, quantity: int
) -> None:
    contract = Contract(start=start, period=period)
    history = History.of([Purchases(start, {"sales-premium": quantity, "service-premium": 1}, frozenset({"cep"}))])
    issued = invoices(contract, PRICES, history, start=start, end=add_months(start, 12))
    expected = 12 * (Decimal("59.00") * quantity + Decimal("49.50") + Decimal("100.00"))
    assert sum_amounts(issued) == expected


@given(starts, periods, st.lists(st.tuples(st.integers(1, 40), periods), max_size=4), st.integers(0, 30))
def test_terms_and_billing_periods_are_contiguous_without_gaps_or_overlaps(
    start: date, period: int, changes: list[tuple[int, int]], cancel_after: int
) -> None:
    contract = Contract(
        start=start,
        period=period,
        changes=tuple(PeriodChange(add_months(start, m), p) for m, p in changes),
        cancelled=add_months(start, cancel_after) if cancel_after > 24 else None,
    )
    until = add_months(start, 48)
    for spans in (contract.terms(until), contract.billing_periods(until)):
        assert spans[0].start == start
        for before, after in pairwise(spans):
            assert before.end == after.start
            assert before.start < before.end


@settings(max_examples=50)
@given(starts, periods, quantities, st.integers(1, 400), st.integers(1, 20))
def test_no_invoice_comes_before_the_start_and_billed_quantities_equal_granted_seats(
    start: date, period: int, quantity: int, offset: int, extra: int
) -> None:
    contract = Contract(start=start, period=period)
    change = start + timedelta(days=offset)
    history = History.of(
        [Purchases(start, {"sales-premium": quantity}), Purchases(change, {"sales-premium": quantity + extra})]
    )
    issued = invoices(contract, PRICES, history, start=start - timedelta(days=400), end=add_months(start, 24))
    assert all(invoice.issued >= start for invoice in issued)
    for invoice in issued:
        for line in invoice.lines:
            if line.kind == "plan":
                assert line.quantity == history.at(line.start).seats[line.item]


@given(starts, periods, quantities, st.integers(0, 365))
def test_a_proration_never_exceeds_the_full_price_of_its_period(
    start: date, period: int, quantity: int, offset: int
) -> None:
    contract = Contract(start=start, period=period)
    for span in contract.billing_periods(add_months(start, 13)):
        day = min(span.start + timedelta(days=offset % span.days), span.end - timedelta(days=1))
        full = Decimal("59.00") * quantity * span.months
        assert Decimal(0) <= prorate(Decimal("59.00"), quantity, span, day) <= full


# ---------------------------------------------------------------- renewals never drift


def _clamped(year: int, month: int, day: int) -> date:
    """`day` of the month, or its last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def test_a_monthly_contract_that_starts_on_31_january_renews_on_the_last_day_of_each_month() -> None:
    contract = Contract(start=date(2026, 1, 31), period=1)
    renewals = [term.start for term in contract.terms(date(2027, 6, 1))][1:]
    assert renewals == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    first_year = [period.start for period in contract.billing_periods(date(2026, 6, 1))]
    assert first_year == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]


def test_a_quarterly_contract_that_starts_on_31_january_renews_on_30_april_31_july_and_31_october() -> None:
    contract = Contract(start=date(2026, 1, 31), period=3)
    starts_ = [period.start for period in contract.billing_periods(date(2027, 12, 1))]
    assert starts_[:4] == [date(2026, 1, 31), date(2026, 4, 30), date(2026, 7, 31), date(2026, 10, 31)]
    renewals = [term.start for term in contract.terms(date(2027, 12, 1))][1:]
    assert renewals == [date(2027, 1, 31), date(2027, 4, 30), date(2027, 7, 31), date(2027, 10, 31)]


def test_add_on_invoices_and_plan_invoices_of_a_monthly_contract_fall_on_the_same_days() -> None:
    start = date(2026, 1, 31)
    contract = Contract(start=start, period=1)
    history = History.of([Purchases(start, {"sales-premium": 2}, frozenset({"cep"}))])
    issued = invoices(contract, PRICES, history, start=start, end=add_months(start, 30))
    for invoice in issued:
        assert {line.kind for line in invoice.lines} == {"plan", "addon"}, invoice.issued


@settings(max_examples=124, deadline=None)
@given(st.integers(1, 31), periods, st.integers(2020, 2030), st.integers(1, 12))
def test_every_term_and_billing_period_over_five_years_starts_on_the_start_day_clamped_to_its_month(
    day: int, period: int, year: int, month: int
) -> None:
    start = _clamped(year, month, day)
    if start.day != day:  # this month has no such day: the start day is the month's last
        return
    contract = Contract(start=start, period=period)
    until = add_months(start, 60)
    for spans in (contract.terms(until), contract.billing_periods(until)):
        for span in spans:
            assert span.start.day == min(day, calendar.monthrange(span.start.year, span.start.month)[1])
            assert span.end.day == min(day, calendar.monthrange(span.end.year, span.end.month)[1])
    boundaries = {span.start for span in contract.billing_periods(until)}
    monthly = {add_months(start, k) for k in range(60)}
    assert boundaries <= monthly  # plan invoices fall on add-on (monthly) invoice days


@pytest.mark.parametrize("day", range(1, 32))
@pytest.mark.parametrize("period", [1, 3, 6, 12])
def test_for_every_start_day_and_billing_period_five_years_of_periods_keep_the_start_day(day: int, period: int) -> None:
    start = date(2024, 1, day)  # January has every day; 2024 is a leap year
    contract = Contract(start=start, period=period)
    until = add_months(start, 60)
    periods_ = contract.billing_periods(until)
    assert len(periods_) == 60 // period
    for index, span in enumerate(periods_):
        year, month = 2024 + index * period // 12, 1 + index * period % 12
        assert span.start == _clamped(year, month, day)
