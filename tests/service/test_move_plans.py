"""A move of many tenants planned: selection, revenue before and after, users who lose and gain, blockers."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.catalog.prices import load_price_file
from lisens.db.repositories import TenantRepository, UsageRepository
from lisens.domain.errors import LisensError
from lisens.service import fencing, move_plans, moves, subscriptions, tags, tenants, users
from lisens.service.context import Context
from lisens.service.move_plans import Selection
from lisens.service.state import load_state
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


def test_no_user_loses_a_partner_owners_system_license_by_a_move_as_applying_it_keeps_it(ctx: Context) -> None:
    cohort(ctx)
    tenants.add_owner(ctx, "beta", "ACME", at=AT)
    tenants.add_partner_license(ctx, "beta", "ACME.sync", license_type="system", at=AT)
    view = move_plans.plan(ctx, to="suite", selection=Selection())
    beta = next(row for row in view.tenants if row.tenant == "beta")
    assert "acme.sync" not in beta.lose
    assert "acme.sync" not in {count.license for count in view.summary.lose}
    assert all("acme.sync" not in user.lost for user in moves.preview(ctx, "beta", to="suite").users)
    moves.apply(ctx, "beta", to="suite", at=AT + timedelta(days=1))
    assert all(users.check(ctx, "beta", user, ["ACME.sync"])[0].held for user in ("bo", "bea", "bjorn"))


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


def varied(ctx: Context) -> None:
    """Tenants of every kind a plan meets: plans and combinations, direct licenses kept and dropped, retired
    users and users who cannot log in, an add-on with no counterpart, a partner owner's system license, usage
    above a suite limit, a subscription, a tenant without users, one on the target, one with no mapping."""
    cohort(ctx)
    make_tenant(ctx, "delta", seats={"sales-premium+service-essential": 2, "marketing-essential": 2}, people=())
    for name, plans in (("d1", ["sales-premium", "service-essential"]), ("d2", ["marketing-essential"])):
        users.add_user(ctx, "delta", name, at=AT)
        users.assign(ctx, "delta", name, plans=plans, at=AT)
    users.add_user(ctx, "delta", "d3", can_log_in=False, at=AT)
    users.add_user(ctx, "delta", "d4", at=AT)
    users.assign(ctx, "delta", "d4", plans=["marketing-essential"], licenses=["visible-for"], at=AT)
    users.retire_user(ctx, "delta", "d4", at=AT)
    tenants.add_addon(ctx, "delta", "development-tools", at=AT)
    tenants.add_owner(ctx, "delta", "ACME", at=AT)
    tenants.add_partner_license(ctx, "delta", "ACME.sync", license_type="system", at=AT)
    subscriptions.create_subscription(ctx, "delta", start=date(2025, 6, 1), period=12, at=AT)
    delta = TenantRepository(ctx.session).get_by_name("delta")
    assert delta is not None
    UsageRepository(ctx.session).set(delta.id, "custom-objects", 20, at=AT)
    make_tenant(ctx, "empty", people=())
    make_tenant(ctx, "nine", generation="9", seats={"standard-crm": 1}, people=("n",))
    users.assign(ctx, "nine", "n", plans=["standard-crm"], at=AT)
    make_tenant(ctx, "seven", generation="7", seats={"user": 2, "quote-cal": 1}, people=("q", "p"))
    users.assign(ctx, "seven", "q", licenses=["user", "quote-cal"], at=AT)
    users.assign(ctx, "seven", "p", licenses=["user", "visible-for"], at=AT)
    make_tenant(ctx, "zeta", generation="suite", seats={"core": 1}, people=())


@pytest.mark.parametrize("to", ["suite", "11"])
def test_each_tenant_of_a_cohort_read_in_batches_moves_as_its_own_preview_says(ctx: Context, to: str) -> None:
    varied(ctx)
    made = move_plans.stream(ctx, to=to, selection=Selection(), batch_tenants=2)
    rows = {row.tenant: row for row in made}
    assert rows
    for name, row in rows.items():
        preview = moves.preview(ctx, name, to=to)
        lose: dict[str, list[str]] = {}
        gain: dict[str, list[str]] = {}
        for user in preview.users:
            for license_ in user.lost:
                lose.setdefault(license_, []).append(user.user)
            for license_ in user.gained:
                gain.setdefault(license_, []).append(user.user)
        assert row.tenant_plan == preview.tenant_plan
        assert row.seats_after == {s.item: s.after for s in preview.seats if s.after}
        assert row.lose == {key: sorted(value) for key, value in sorted(lose.items())}
        assert row.gain == {key: sorted(value) for key, value in sorted(gain.items())}
        computed = moves.compute(ctx, load_state(ctx, name), to)
        assert [b for b in row.blockers if b.kind in ("plan-limit", "no-counterpart")] == sorted(
            move_plans.blocking(ctx, computed), key=lambda b: (b.kind, b.item, b.detail)
        )
    if to == "suite":
        assert {b.kind for b in rows["delta"].blockers} == {"plan-limit", "no-counterpart"}
        assert (rows["delta"].subscribed, rows["delta"].billing_period) == (True, 12)
        assert made.skipped == {
            "nine": "no move mapping from generation 9 to suite (9-to-suite.toml)",
            "seven": "no move mapping from generation 7 to suite (7-to-suite.toml)",
            "zeta": "on generation suite already",
        }
    else:
        assert set(rows) == {"nine", "seven"}


def test_rows_come_as_they_are_made_and_the_summary_once_all_are_made(ctx: Context) -> None:
    varied(ctx)
    calls: list[tuple[int, int]] = []
    made = move_plans.stream(
        ctx, to="suite", selection=Selection(), progress=lambda d, t: calls.append((d, t)), batch_tenants=3
    )
    rows = iter(made)
    first = next(rows)
    assert first.tenant == "alpha"
    assert calls == [(0, 8)]  # the first batch read: its tenants' rows come one by one, then progress
    with pytest.raises(RuntimeError):
        made.summary()
    rest = list(rows)
    assert calls == [(0, 8), (3, 8), (6, 8), (8, 8)]
    held = move_plans.plan(ctx, to="suite", selection=Selection())
    assert [first, *rest] == held.tenants
    assert made.summary() == held.summary
    assert made.skipped == held.skipped


def test_a_batch_holds_at_most_so_many_users_and_a_larger_tenant_is_read_alone(ctx: Context) -> None:
    cohort(ctx)  # alpha 2 users, beta 3, gamma 2
    calls: list[tuple[int, int]] = []
    made = move_plans.stream(
        ctx, to="suite", selection=Selection(), progress=lambda d, t: calls.append((d, t)), batch_users=2
    )
    assert [row.users for row in made] == [2, 3, 2]
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_the_json_document_is_the_plan_with_its_summary_first_and_a_tenant_a_line(ctx: Context) -> None:
    varied(ctx)
    held = move_plans.plan(ctx, to="suite", selection=Selection())

    def document() -> bytes:
        made = move_plans.stream(ctx, to="suite", selection=Selection(), batch_tenants=2)
        return b"".join(move_plans.spool_json(made).chunks(size=100))

    text = document()
    assert text == document()
    parsed = json.loads(text)
    assert parsed == held.plain()
    assert list(parsed) == ["to", "prices", "example_prices", "selection", "summary", "tenants", "skipped"]
    lines = text.decode().splitlines()
    assert [json.loads(line.rstrip(","))["tenant"] for line in lines[1:-1]] == [t.tenant for t in held.tenants]
    empty = json.loads(
        b"".join(
            move_plans.spool_json(move_plans.stream(ctx, to="suite", selection=Selection(tenants=("zeta",)))).chunks()
        )
    )
    assert (empty["tenants"], empty["skipped"], empty["summary"]["changes"]) == (
        [],
        {"zeta": "on generation suite already"},
        [],
    )


def test_the_csv_has_a_line_per_tenant_written_as_its_row_comes(ctx: Context) -> None:
    varied(ctx)
    made = move_plans.stream(ctx, to="suite", selection=Selection(), batch_tenants=2)
    text = "".join(move_plans.csv_lines(made))
    assert text.startswith("tenant,from,to,tenant_plan,users")
    rows = list(csv.DictReader(io.StringIO(text)))
    held = move_plans.plan(ctx, to="suite", selection=Selection())
    assert [(r["tenant"], r["yearly_change"]) for r in rows] == [(t.tenant, t.yearly_change) for t in held.tenants]
    spooled = b"".join(move_plans.spool_csv(move_plans.stream(ctx, to="suite", selection=Selection())).chunks())
    assert spooled.decode() == move_plans.plan_csv(held)


def test_an_overview_keeps_the_blocked_tenants_and_the_largest_changes_and_sums_up_every_tenant(
    ctx: Context,
) -> None:
    varied(ctx)
    held = move_plans.plan(ctx, to="suite", selection=Selection())
    shown = move_plans.overview(ctx, to="suite", selection=Selection(), limit=2)
    assert shown.summary == held.summary
    blocked = [t.tenant for t in held.tenants if t.blockers]
    assert blocked == ["delta"]
    largest = max((t for t in held.tenants if not t.blockers), key=lambda t: abs(Decimal(t.yearly_change)))
    assert [t.tenant for t in shown.tenants] == sorted(["delta", largest.tenant])
    every = move_plans.overview(ctx, to="suite", selection=Selection(), limit=100)
    assert every == held


def test_tenants_fall_into_bands_of_their_yearly_change_and_every_tenant_is_counted() -> None:
    changes = Counter({Decimal("-100.00"): 1, Decimal("-90.00"): 1, Decimal("0.00"): 1, Decimal("50.00"): 1})
    changes[Decimal("700.00")] = 1
    bands = move_plans.change_bands(changes)
    assert len(bands) == move_plans.CHANGE_BANDS
    assert sum(band.tenants for band in bands) == 5
    assert (bands[0].low, bands[0].high, bands[0].tenants) == ("-100.00", "0.00", 2)
    assert (bands[-1].high, bands[-1].tenants) == ("700.00", 1)
    alike = move_plans.change_bands(Counter({Decimal("12.00"): 3}))
    assert [(b.low, b.high, b.tenants) for b in alike] == [("12.00", "12.00", 3)]
    assert move_plans.change_bands(Counter()) == []


def test_the_summary_counts_tenants_by_change_as_the_rows_say(ctx: Context) -> None:
    varied(ctx)
    view = move_plans.plan(ctx, to="suite", selection=Selection())
    changes = [Decimal(t.yearly_change) for t in view.tenants]
    assert sum(band.tenants for band in view.summary.changes) == len(view.tenants)
    assert view.summary.pay_more == sum(1 for c in changes if c > 0)
    assert view.summary.pay_less == sum(1 for c in changes if c < 0)
    assert view.summary.pay_same == sum(1 for c in changes if c == 0)
    assert view.summary.blocked == sum(1 for t in view.tenants if t.blockers)
