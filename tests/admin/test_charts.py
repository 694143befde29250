"""The charts of a move plan: bars scaled to the largest, every value written, the same plan the same bars."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from lisens.admin.charts import BAR_MAX, plan_charts
from lisens.service.move_plans import change_bands
from lisens.service.results import (
    LicenseCountRead,
    MovePlanRead,
    MovePlanSelectionRead,
    MovePlanSummaryRead,
    MovePlanTenantRead,
)


def tenant(name: str, change: str) -> MovePlanTenantRead:
    return MovePlanTenantRead.model_validate(
        {
            "tenant": name,
            "from": "11",
            "to": "suite",
            "tenant_plan": "core",
            "users": 3,
            "subscribed": True,
            "billing_period": 12,
            "currency_before": "EUR",
            "currency": "EUR",
            "seats_before": {},
            "seats_after": {},
            "monthly_before": "0.00",
            "monthly_after": "0.00",
            "yearly_before": "0.00",
            "yearly_after": "0.00",
            "per_period_before": "0.00",
            "per_period_after": "0.00",
            "yearly_change": change,
            "lose": {},
            "gain": {},
            "blockers": [],
        }
    )


def plan(changes: list[str], lose: list[tuple[str, int]]) -> MovePlanRead:
    summary = MovePlanSummaryRead(
        tenants=len(changes),
        users=3 * len(changes),
        blocked=0,
        currency="EUR",
        monthly_before="100.00",
        monthly_after="50.00",
        yearly_before="1200.00",
        yearly_after="600.00",
        yearly_change="-600.00",
        pay_more=0,
        pay_less=len(changes),
        pay_same=0,
        lose=[LicenseCountRead(license=name, users=users, tenants=1) for name, users in lose],
        gain=[],
        changes=change_bands(Counter(Decimal(change) for change in changes)),
    )
    return MovePlanRead(
        to="suite",
        prices="installed",
        example_prices=True,
        selection=MovePlanSelectionRead(),
        summary=summary,
        tenants=[tenant(f"t{n}", change) for n, change in enumerate(changes)],
        skipped={},
    )


def test_revenue_bars_are_scaled_to_the_larger_and_carry_their_values() -> None:
    charts = plan_charts(plan(["-600.00"], []))
    before, after = charts.revenue
    assert (before.size, after.size) == (BAR_MAX, BAR_MAX / 2)
    assert (before.value, after.value) == ("1200.00", "600.00")


def test_a_bar_per_band_of_yearly_change_scaled_to_the_fullest_band() -> None:
    changes = ["-100.00", "-90.00", "0.00", "50.00", "700.00"]
    charts = plan_charts(plan(changes, []))
    bands = plan(changes, []).summary.changes
    assert [bar.value for bar in charts.changes] == [str(band.tenants) for band in bands]
    assert (charts.changes[0].label, charts.changes[0].size) == ("-100 … +0", BAR_MAX)
    assert charts.changes[-1].size == BAR_MAX / 2


def test_the_licenses_lost_most_often_are_the_first_ten_with_their_users() -> None:
    lose = [(f"superoffice.l{n}", 20 - n) for n in range(12)]
    charts = plan_charts(plan(["0.00"], lose))
    assert [bar.label for bar in charts.lost] == [f"superoffice.l{n}" for n in range(10)]
    assert charts.lost[0].size == BAR_MAX
    assert charts.lost[-1].value == "11"


def test_an_empty_cohort_draws_no_bands_and_zero_bars() -> None:
    charts = plan_charts(plan([], []))
    assert charts.changes == []
    assert charts.lost == []
    assert plan_charts(plan([], [])) == charts
