"""A move of many tenants planned: selection, revenue before and after, users who lose and gain, blockers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.catalog.prices import load_price_file
from lisens.domain.errors import LisensError
from lisens.service import fencing, move_plans, subscriptions, tags, users
from lisens.service.context import Context
from lisens.service.move_plans import Selection
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

AT = T0 + timedelta(hours=1)


def cohort(ctx: Context) -> None:
    """The worked example of docs/moving-customers.md: three generation 11 tenants."""
    make_tenant(ctx, "alpha", seats={"sales-essential": 2}, people=("ann", "arne"))
    make_tenant(ctx, "beta", seats={"marketing-premium": 1, "service-essential": 2}, people=("bo", "bea", "bjorn"))
    make_tenant(ctx, "gamma", seats={"sales-premium": 4}, people=("gus", "gro"))
    for tenant, plans in (
        ("alpha", {"ann": "sales-essential", "arne": "sales-essential"}),
        ("beta", {"bo": "marketing-premium", "bea": "service-essential", "bjorn": "service-essential"}),
        ("gamma", {"gus": "sales-premium", "gro": "sales-premium"}),
    ):
        for user, plan in plans.items():
            users.assign(ctx, tenant, user, plans=[plan], at=AT)
    subscriptions.create_subscription(ctx, "gamma", start=date(2026, 1, 1), period=3, at=AT)
    tags.set_tag(ctx, "beta", "segment", "smb", at=AT)
    tags.set_tag(ctx, "gamma", "segment", "smb", at=AT)


def test_the_worked_example_of_the_docs_holds(ctx: Context) -> None:
    cohort(ctx)
    view = move_plans.plan(ctx, to="suite", selection=Selection(generation="11"))
    rows = {row.tenant: row for row in view.tenants}
    assert [row.tenant for row in view.tenants] == ["alpha", "beta", "gamma"]
    assert (rows["alpha"].tenant_plan, rows["alpha"].seats_after) == ("core", {"core": 2})
    assert (rows["alpha"].monthly_before, rows["alpha"].monthly_after) == ("78.00", "90.00")
    assert (rows["beta"].tenant_plan, rows["beta"].seats_after) == ("plus", {"plus": 3})
    assert (rows["beta"].monthly_before, rows["beta"].monthly_after) == ("147.00", "270.00")
    assert (rows["gamma"].tenant_plan, rows["gamma"].seats_after) == ("growth", {"growth": 4})
    assert (rows["gamma"].monthly_before, rows["gamma"].monthly_after) == ("236.00", "280.00")
    assert (rows["gamma"].subscribed, rows["gamma"].billing_period) == (True, 3)
    assert (rows["gamma"].per_period_before, rows["gamma"].per_period_after) == ("708.00", "840.00")
    assert (rows["alpha"].subscribed, rows["alpha"].billing_period) == (False, 1)
    summary = view.summary
    assert (summary.tenants, summary.users) == (3, 7)
    assert (summary.monthly_before, summary.monthly_after) == ("461.00", "640.00")
    assert (summary.yearly_before, summary.yearly_after, summary.yearly_change) == ("5532.00", "7680.00", "2148.00")
    assert (summary.pay_more, summary.pay_less, summary.pay_same) == (3, 0, 0)


def test_the_same_state_gives_the_same_bytes(ctx: Context) -> None:
    cohort(ctx)
    first = json.dumps(move_plans.plan(ctx, to="suite", selection=Selection()).plain())
    second = json.dumps(move_plans.plan(ctx, to="suite", selection=Selection()).plain())
    assert first == second


def test_a_cohort_is_selected_by_tag_users_renewal_and_list(ctx: Context) -> None:
    cohort(ctx)

    def names(selection: Selection) -> list[str]:
        return [row.tenant for row in move_plans.plan(ctx, to="suite", selection=selection).tenants]

    assert names(Selection(tags=(("segment", "smb"),))) == ["beta", "gamma"]
    assert names(Selection(min_users=3)) == ["beta"]
    assert names(Selection(max_users=2)) == ["alpha", "gamma"]
    assert names(Selection(tenants=("gamma", "alpha"))) == ["alpha", "gamma"]
    renewal = subscriptions.show_subscription(ctx, "gamma", at=ctx.now()).next_renewal
    assert renewal is not None
    assert names(Selection(renewal_month=renewal[:7])) == ["gamma"]
    assert names(Selection(renewal_month="1999-01")) == []
    assert names(Selection(generation="9")) == []


def test_a_sample_with_a_seed_is_the_same_every_time(ctx: Context) -> None:
    for index in range(20):
        make_tenant(ctx, f"t{index:02}", people=())
    picked = [
        [row.tenant for row in move_plans.plan(ctx, to="suite", selection=Selection(sample=30, seed=7)).tenants]
        for _ in range(2)
    ]
    assert picked[0] == picked[1]
    assert 0 < len(picked[0]) < 20
    assert picked[0] == sorted(f"t{i:02}" for i in range(20) if move_plans.sampled(7, f"t{i:02}", 30))


def test_users_who_lose_a_license_are_counted_per_tenant_and_in_total(ctx: Context) -> None:
    cohort(ctx)
    users.assign(ctx, "alpha", "ann", licenses=["visible-for"], at=AT)
    view = move_plans.plan(ctx, to="suite", selection=Selection())
    for row in view.tenants:
        for holders in (*row.lose.values(), *row.gain.values()):
            assert holders == sorted(holders)
    for count in view.summary.lose:
        assert count.users == sum(len(row.lose.get(count.license, [])) for row in view.tenants)
        assert count.tenants == sum(1 for row in view.tenants if count.license in row.lose)


def test_usage_above_a_plan_limit_is_what_blocks_a_move() -> None:
    limits = {"dashboards": 3, "projects": 0, "custom-objects": fencing.UNLIMITED}
    usage = {"dashboards": 4, "projects": 0, "custom-objects": 500}
    assert fencing.over_limits(limits, usage) == [("dashboards", 4, 3)]


def test_a_price_list_for_another_generation_is_refused(ctx: Context) -> None:
    cohort(ctx)
    with pytest.raises(LisensError) as caught:
        move_plans.plan(ctx, to="suite", selection=Selection(), prices=load_price_file(DATA_DIR / "prices-11.toml"))
    assert caught.value.code == "PRICES_NOT_FOR_TARGET"


def test_a_what_if_price_list_changes_only_the_after_side(ctx: Context, tmp_path: Path) -> None:
    cohort(ctx)
    text = (DATA_DIR / "prices-suite.toml").read_text().replace('"core" = "45.00"', '"core" = "40.00"')
    (tmp_path / "cheaper.toml").write_text(text)
    view = move_plans.plan(
        ctx, to="suite", selection=Selection(tenants=("alpha",)), prices=load_price_file(tmp_path / "cheaper.toml")
    )
    assert (view.tenants[0].monthly_before, view.tenants[0].monthly_after) == ("78.00", "80.00")


@pytest.mark.parametrize(
    "selection", [Selection(renewal_month="2027-13"), Selection(min_users=-1), Selection(sample=0)]
)
def test_a_bad_selection_is_refused_with_a_code(ctx: Context, selection: Selection) -> None:
    with pytest.raises(LisensError) as caught:
        move_plans.plan(ctx, to="suite", selection=selection)
    assert caught.value.code in {"INVALID_VALUE", "INVALID_NUMBER"}
