"""Moving tenants between packaging generations, and CRM Suite's tenant plan, seats and plan limits."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.catalog.moves import load_mapping_file
from lisens.domain.engine import require_plan
from lisens.domain.errors import CatalogError, LisensError
from lisens.domain.model import Catalog
from lisens.service import audit, fencing, move_plans, moves, subscriptions, tenants, users
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

AT = T0 + timedelta(hours=1)


def state_of(ctx: Context, tenant: str) -> dict[str, object]:
    shown = tenants.show_tenant(ctx, tenant)
    people = {u.user: users.show_user(ctx, tenant, u.user) for u in users.list_users(ctx, tenant)}
    return {
        "generation": shown.generation,
        "seats": shown.seats,
        "addons": shown.addons,
        "users": {name: (u.plan, u.licenses) for name, u in people.items()},
    }


def ten_tenant(ctx: Context) -> None:
    seats = {
        "sales-essential": 2,
        "service-essential": 1,
        "marketing-essential": 1,
        "sales-premium": 1,
        "service-premium": 1,
        "marketing-premium": 1,
        "sales-premium+service-essential": 1,
    }
    make_tenant(ctx, seats=seats, people=())
    plans = {
        "se": ["sales-essential"], "ve": ["service-essential"], "me": ["marketing-essential"],
        "sp": ["sales-premium"], "vp": ["service-premium"], "mp": ["marketing-premium"],
        "multi": ["sales-premium", "service-essential"],
    }  # fmt: skip
    for name, plan in plans.items():
        users.add_user(ctx, "acme", name, at=AT)
        users.assign(ctx, "acme", name, plans=plan, at=AT)
    users.assign(ctx, "acme", "se", licenses=["visible-for"], at=AT)


def test_the_documented_11_to_suite_mapping_and_the_highest_plan(ctx: Context) -> None:
    ten_tenant(ctx)
    view = moves.preview(ctx, "acme", to="suite")
    assert view.tenant_plan == "plus"  # Marketing Premium -> Plus is the highest any user needs
    assert {u.user: u.to_plan for u in view.users} == dict.fromkeys(
        ["se", "ve", "me", "sp", "vp", "mp", "multi"], "plus"
    )


def test_the_mapping_of_each_plan_is_as_documented(ctx: Context) -> None:
    from lisens.catalog import load_catalog
    from lisens.catalog.moves import load_mapping
    from lisens.domain.engine import require_plan

    mapping = load_mapping("11", "suite")
    source, target = load_catalog("11"), load_catalog("suite")
    expected = {
        "sales-essential": "core", "service-essential": "core", "marketing-essential": "growth",
        "sales-premium": "growth", "service-premium": "growth", "marketing-premium": "plus",
    }  # fmt: skip
    for key, suite in expected.items():
        plan = mapping.target_plan(source, target, source.plans[key], [])
        assert plan is not None
        assert plan.key == suite
    multi = mapping.target_plan(source, target, require_plan(source, "sales-essential+marketing-essential"), [])
    assert multi is not None
    assert multi.key == "growth"


def test_a_preview_lists_users_who_lose_something_first_and_the_seats(ctx: Context) -> None:
    make_tenant(ctx, generation="9", seats={"sales": 2, "standard-crm": 1}, people=("ann", "ben"))
    users.assign(ctx, "acme", "ann", plans=["sales"], at=AT)
    users.assign(ctx, "acme", "ben", plans=["standard-crm"], at=AT)
    view = moves.preview(ctx, "acme", to="11")
    losing = [u for u in view.users if u.lost]
    assert view.users[: len(losing)] == losing
    ben = next(u for u in view.users if u.user == "ben")
    assert "superoffice.project-cal" in ben.lost  # projects are a Premium feature in 11
    seats = {s.item: (s.before, s.after) for s in view.seats}
    assert seats == {"sales": (2, 0), "standard-crm": (1, 0), "sales-premium": (0, 2), "sales-essential": (0, 1)}
    assert moves.preview_csv(view).splitlines()[0] == "user,from_plan,to_plan,lost,gained"
    assert tenants.show_tenant(ctx, "acme").generation == "9"  # a preview changes nothing


def test_apply_moves_every_user_at_once_and_rollback_restores_everything_exactly(ctx: Context) -> None:
    ten_tenant(ctx)
    tenants.add_addon(ctx, "acme", "cep", at=AT)
    before = state_of(ctx, "acme")
    moves.apply(ctx, "acme", to="suite", at=AT + timedelta(days=1))
    moved = state_of(ctx, "acme")
    assert moved["generation"] == "suite"
    assert moved["seats"] == {"plus": 8}
    assert all(plan == "plus" for plan, _ in moved["users"].values())  # type: ignore[attr-defined]
    assert users.check(ctx, "acme", "mp", ["mktg-auto-cal"])[0].held
    moves.rollback(ctx, "acme", at=AT + timedelta(days=2))
    assert state_of(ctx, "acme") == before


def test_history_answers_what_a_user_held_before_and_after_a_move(ctx: Context) -> None:
    ten_tenant(ctx)
    moves.apply(ctx, "acme", to="suite", at=AT + timedelta(days=10))
    then = audit.holdings_at(ctx, "acme", "se", AT + timedelta(days=5))
    now = audit.holdings_at(ctx, "acme", "se", AT + timedelta(days=11))
    assert (then.plan, now.plan) == ("sales-essential", "plus")
    assert "superoffice.ten-sales" in then.licenses
    assert "superoffice.suite-user" in now.licenses


@pytest.mark.parametrize("seed", range(5))
def test_apply_then_rollback_is_the_identity_for_random_tenants(ctx: Context, seed: int) -> None:
    rng = random.Random(seed)
    keys = [
        "sales-essential",
        "sales-premium",
        "service-essential",
        "service-premium",
        "marketing-essential",
        "marketing-premium",
    ]
    make_tenant(ctx, seats=dict.fromkeys(keys, 10), people=())
    for n in range(rng.randint(1, 12)):
        users.add_user(ctx, "acme", f"u{n}", can_log_in=rng.random() > 0.2, at=AT)
        if rng.random() > 0.2:
            users.assign(ctx, "acme", f"u{n}", plans=[rng.choice(keys)], at=AT)
        if rng.random() > 0.5:
            users.assign(ctx, "acme", f"u{n}", licenses=["visible-for"], at=AT)
    before = state_of(ctx, "acme")
    moves.apply(ctx, "acme", to="suite", at=AT)
    moves.rollback(ctx, "acme", at=AT)
    assert state_of(ctx, "acme") == before


def test_a_move_at_renewal_waits_for_it_and_invoices_follow_the_new_price_list(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2}, people=("ann",))
    users.assign(ctx, "acme", "ann", plans=["sales-premium"], at=AT)
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=12, at=AT)
    scheduled = moves.apply(ctx, "acme", to="suite", at=AT + timedelta(days=30), at_renewal=True)
    assert scheduled.scheduled == "2027-01-01"
    assert tenants.show_tenant(ctx, "acme").generation == "11"
    report = subscriptions.renew(ctx, "acme", at=datetime(2027, 1, 2, tzinfo=UTC))
    assert [m.plain() for m in report.moved] == [{"to": "suite", "effective": "2027-01-01"}]
    assert tenants.show_tenant(ctx, "acme").generation == "suite"
    issued = {i.issued: i for i in report.issued}
    assert issued["2026-01-01"].lines[0].item == "sales-premium"
    assert issued["2027-01-01"].lines[0].item == "growth"  # Sales Premium -> Growth, priced as Growth
    assert issued["2027-01-01"].lines[0].unit_monthly == "70.00"


def test_moving_from_individual_licenses_uses_the_rules_in_order(ctx: Context) -> None:
    make_tenant(ctx, generation="7", seats={"user": 3, "quote-cal": 1}, people=("q", "plain", "none"))
    users.assign(ctx, "acme", "q", licenses=["user", "quote-cal"], at=AT)
    users.assign(ctx, "acme", "plain", licenses=["user", "visible-for"], at=AT)
    view = moves.preview(ctx, "acme", to="11")
    plans = {u.user: u.to_plan for u in view.users}
    assert plans == {"q": "sales-premium", "plain": "sales-essential", "none": None}
    plain = next(u for u in view.users if u.user == "plain")
    assert plain.dropped_direct == ["superoffice.user"]  # hidden in 11: comes with the plan
    moves.apply(ctx, "acme", to="11", at=AT)
    assert users.check(ctx, "acme", "q", ["quote-cal"])[0].held


def test_the_report_counts_users_gaining_and_losing_across_tenants(ctx: Context) -> None:
    ten_tenant(ctx)
    make_tenant(ctx, "other", generation="9", seats={"standard-crm": 1}, people=("o",))
    users.assign(ctx, "other", "o", plans=["standard-crm"], at=AT)
    data = moves.report(ctx, to="11")
    assert (data.tenants, data.users) == (1, 1)
    assert data.lost["superoffice.project-cal"] == 1


def test_a_missing_mapping_or_the_same_generation_is_refused(ctx: Context) -> None:
    make_tenant(ctx, generation="9")
    for to, code in (("suite", "NO_MOVE_MAPPING"), ("9", "SAME_GENERATION"), ("12", "UNKNOWN_GENERATION")):
        with pytest.raises(LisensError) as caught:
            moves.preview(ctx, "acme", to=to)
        assert caught.value.code == code


def test_a_mapping_file_that_misses_a_plan_or_names_an_unknown_one_is_refused(tmp_path: Path) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "catalog")
    path = tmp_path / "catalog" / "moves" / "11-to-suite.toml"
    path.write_text(path.read_text().replace('"marketing-premium" = "plus"', '"marketing-premium" = "gold"'))
    with pytest.raises(CatalogError) as caught:
        load_mapping_file(path, tmp_path / "catalog")
    assert "target plan 'gold'" in caught.value.message
    path.write_text(path.read_text().replace('"marketing-premium" = "gold"\n', ""))
    with pytest.raises(CatalogError, match="no mapping for source plan 'marketing-premium'"):
        load_mapping_file(path, tmp_path / "catalog")


def suite_tenant(ctx: Context, seats: int = 2, plan: str = "core") -> None:
    make_tenant(ctx, generation="suite", seats={plan: seats}, people=())


def test_in_crm_suite_a_seat_is_a_user_who_can_log_in(ctx: Context) -> None:
    suite_tenant(ctx, seats=2)
    users.add_user(ctx, "acme", "a", at=AT)
    users.add_user(ctx, "acme", "b", at=AT)
    assert users.show_user(ctx, "acme", "a").plan == "core"
    with pytest.raises(LisensError) as caught:
        users.add_user(ctx, "acme", "c", at=AT)
    assert caught.value.code == "SEAT_LIMIT_REACHED"
    users.add_user(ctx, "acme", "c", can_log_in=False, at=AT)
    users.set_can_log_in(ctx, "acme", "b", False, at=AT)
    users.set_can_log_in(ctx, "acme", "c", True, at=AT)
    assert (users.show_user(ctx, "acme", "b").plan, users.show_user(ctx, "acme", "c").plan) == (None, "core")
    with pytest.raises(LisensError) as other:
        users.assign(ctx, "acme", "a", plans=["growth"], at=AT)
    assert other.value.code == "NOT_TENANT_PLAN"


def test_plan_limits_warn_from_85_percent_and_refuse_beyond(ctx: Context) -> None:
    suite_tenant(ctx, plan="core")
    nearing = fencing.set_usage(ctx, "acme", "projects", 85, at=AT)
    assert (nearing.IsNearingMaximum, nearing.HasReachedMaximum, nearing.Maximum) == (True, False, 100)
    reached = fencing.add_usage(ctx, "acme", "projects", 15, at=AT)
    assert reached.HasReachedMaximum
    with pytest.raises(LisensError) as caught:
        fencing.add_usage(ctx, "acme", "projects", at=AT)
    assert caught.value.code == "PLAN_LIMIT_REACHED"
    assert fencing.add_usage(ctx, "acme", "dashboards", 50, at=AT).Maximum == fencing.UNLIMITED
    info = fencing.fencing_info(ctx, "acme")
    assert (info.ActiveCount, info.Maximum, info.HasReachedMaximum) == (100, 100, True)


def test_changing_the_suite_plan_moves_seats_and_users_unless_usage_does_not_fit(ctx: Context) -> None:
    suite_tenant(ctx, plan="growth", seats=3)
    users.add_user(ctx, "acme", "a", at=AT)
    fencing.set_usage(ctx, "acme", "custom-objects", 5, at=AT)
    with pytest.raises(LisensError) as caught:
        fencing.change_tenant_plan(ctx, "acme", "core", at=AT)
    assert caught.value.code == "PLAN_LIMIT_REACHED"
    changed = fencing.change_tenant_plan(ctx, "acme", "plus", at=AT)
    assert (changed.plan, changed.seats) == ("plus", 3)
    assert users.show_user(ctx, "acme", "a").plan == "plus"
    assert users.check(ctx, "acme", "a", ["mktg-auto-cal"])[0].held


def test_a_tenant_outside_crm_suite_has_no_plan_limits(ctx: Context) -> None:
    make_tenant(ctx)
    assert fencing.fencing(ctx, "acme").metrics == []
    with pytest.raises(LisensError) as caught:
        fencing.set_usage(ctx, "acme", "projects", 1, at=AT)
    assert caught.value.code == "UNKNOWN_METRIC"


def test_tenants_stay_on_their_generation_and_the_vendor_lists_them_per_generation(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3}, people=("a",))
    make_tenant(ctx, "old", generation="9", seats={"sales": 2}, people=("b", "c"))
    report = tenants.generation_report(ctx)
    assert report.root["11"].plain() == {"tenants": ["acme"], "seats": {"sales-premium": 3}, "users": 1}
    assert report.root["9"].plain() == {"tenants": ["old"], "seats": {"sales": 2}, "users": 2}


def test_the_report_over_every_tenant_tells_its_progress_tenant_by_tenant(ctx: Context) -> None:
    ten_tenant(ctx)
    make_tenant(ctx, name="other", seats={"sales-essential": 1})
    told: list[tuple[int, int]] = []
    moves.report(ctx, to="suite", progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 2), (2, 2)]


# What each source generation's tenants may hold: plans (combined where the generation combines them),
# licenses assigned by hand, add-ons and system licenses bought alone. A license's prerequisite is
# assigned with it.
@dataclass(frozen=True)
class Offer:
    plans: tuple[str, ...]
    licenses: tuple[str, ...]
    addons: tuple[str, ...]
    system: tuple[str, ...] = ()


OFFERS = {
    "7": Offer(
        plans=(),
        licenses=("user", "quote-cal", "ej-client", "web", "visible-for", "saint-cal", "project-cal", "report-cal"),
        addons=("calendar-sync", "development-tools"),
        system=("quote", "pocket-crm-server", "reporter-studio"),
    ),
    "9": Offer(
        plans=("standard-crm", "sales", "service", "marketing", "complete", "no-selection"),
        licenses=("visible-for", "target-cal", "saint-cal", "mktg-auto-cal", "stakeholder-cal", "synchronizer-cal"),
        addons=("cep", "calendar-sync", "development-tools"),
    ),
    "11": Offer(
        plans=(
            "sales-essential", "sales-premium", "service-essential", "service-premium", "marketing-essential",
            "marketing-premium", "sales-premium+service-essential", "sales-essential+service-premium+marketing-premium",
        ),
        licenses=("visible-for", "synchronizer-cal", "superlicense-complete", "nebula"),
        addons=("cep", "calendar-sync", "ai-platform", "ai-copilot"),
    ),
}  # fmt: skip
MOVES = (("7", "9"), ("7", "11"), ("9", "11"), ("11", "suite"))


@dataclass(frozen=True)
class Shape:
    """What a tenant built for the comparison has besides its users' plans and licenses."""

    name: str
    partner: bool = False  # a partner owner with system licenses (one also bought alone) and user licenses
    retired: bool = False  # retired users, and users who cannot log in
    bought: bool = False  # add-ons, system licenses bought alone, seats nobody uses


SHAPES = (
    Shape("plain"),
    Shape("partner", partner=True),
    Shape("retired", retired=True),
    Shape("everything", partner=True, retired=True, bought=True),
    *(Shape(f"random{n}", partner=n % 2 == 0, retired=n % 3 == 0, bought=n % 2 == 1) for n in range(4)),
)


def build(ctx: Context, shape: Shape, generation: str) -> str:
    """A tenant of `generation` with about ten users of random plans and licenses (the same every run)."""
    rng = random.Random(f"{generation}:{shape.name}")
    offer, catalog = OFFERS[generation], ctx.catalog(generation)
    name = f"{shape.name}-{generation}"
    seats = dict.fromkeys(plan_key_of(catalog, key) for key in offer.plans) | {
        license_: None for license_ in offer.licenses if not catalog.licenses[license_].unrestricted
    }
    if shape.partner:
        seats["PARTNER.seat"] = None
    make_tenant(ctx, name, generation=generation, people=())
    if shape.partner:
        tenants.add_owner(ctx, name, "PARTNER", at=AT)
        tenants.add_partner_license(ctx, name, "PARTNER.sync", license_type="system", at=AT)
        tenants.add_partner_license(ctx, name, "PARTNER.portal", license_type="system", at=AT)
        tenants.add_system_license(ctx, name, "PARTNER.portal", at=AT)
        tenants.add_partner_license(ctx, name, "PARTNER.cal", license_type="user", unrestricted=True, at=AT)
        tenants.add_partner_license(ctx, name, "PARTNER.seat", license_type="user", at=AT)
    for item in seats:
        tenants.set_seats(ctx, name, item, 30 if shape.bought or rng.random() < 0.5 else 12, at=AT)
    if shape.bought:
        for addon in offer.addons:
            tenants.add_addon(ctx, name, addon, at=AT)
        for system in offer.system:
            tenants.add_system_license(ctx, name, system, at=AT)
    partner = ("PARTNER.cal", "PARTNER.seat") if shape.partner else ()
    for n in range(rng.randint(6, 11)):
        user = f"u{n}"
        users.add_user(ctx, name, user, at=AT)
        plan = rng.choice([*offer.plans, None]) if offer.plans else None
        chosen = rng.sample([*offer.licenses, *partner], rng.randint(0, 3))
        if generation == "7" and rng.random() < 0.7:
            chosen.append("user")  # most users of generation 7 can log in to CRM
        with_prerequisites = [
            *(p for key in chosen if (p := prerequisite_of(catalog, key)) and p not in chosen),
            *chosen,
        ]
        if plan or with_prerequisites:
            users.assign(ctx, name, user, plans=plan.split("+") if plan else (), licenses=with_prerequisites, at=AT)
    if shape.retired:
        users.retire_user(ctx, name, "u0", at=AT)
        users.set_can_log_in(ctx, name, "u1", False, at=AT)
    return name


def plan_key_of(catalog: Catalog, key: str) -> str:
    return require_plan(catalog, key).key


def prerequisite_of(catalog: Catalog, name: str) -> str | None:
    license_ = catalog.licenses.get(name)
    return license_.prerequisite if license_ is not None else None


def held_by_each(ctx: Context, tenant: str) -> dict[str, tuple[str | None, frozenset[str], frozenset[str]]]:
    """Each user's plan, direct licenses, and the licenses they hold as `lisens user show` lists them (the
    one decision's `held`)."""
    found = {}
    for summary in users.list_users(ctx, tenant):
        shown = users.show_user(ctx, tenant, summary.user)
        found[shown.user] = (shown.plan, frozenset(shown.licenses), frozenset(e.license for e in shown.effective))
    return found


def per_user(by_license: dict[str, list[str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for license_, names in by_license.items():
        for name in names:
            found.setdefault(name, []).append(license_)
    return {name: sorted(licenses) for name, licenses in found.items()}


@pytest.mark.parametrize(("source", "target"), MOVES, ids=[f"{a}-to-{b}" for a, b in MOVES])
def test_a_move_says_exactly_what_applying_it_does_to_each_user(ctx: Context, source: str, target: str) -> None:
    """The preview, the cohort plan's row and the apply's answer against what each user holds before and
    after the move is applied (as `lisens user show` lists it), except the price-list and tier markers
    and plan licenses they leave out (docs/decisions.md 66)."""
    names = [build(ctx, shape, source) for shape in SHAPES]
    markers = {f"superoffice.{name}" for name in ctx.catalog(source).markers | ctx.catalog(target).markers}
    previews = {name: moves.preview(ctx, name, to=target) for name in names}
    rows = {
        row.tenant: row
        for row in move_plans.plan(ctx, to=target, selection=move_plans.Selection(tenants=tuple(names))).tenants
    }
    differences: list[str] = []
    for name in names:
        before = held_by_each(ctx, name)
        answer = moves.apply(ctx, name, to=target, at=AT + timedelta(days=1))
        after = held_by_each(ctx, name)
        row = rows[name]
        lose, gain = per_user(row.lose), per_user(row.gain)
        for said, view in (("preview", previews[name]), ("apply", answer)):
            assert sorted(u.user for u in view.users) == sorted(before)
            for user in view.users:
                plan_before, direct_before, held_before = before[user.user]
                plan_after, direct_after, held_after = after[user.user]
                truth = {
                    "from_plan": plan_before,
                    "to_plan": plan_after,
                    "lost": sorted(held_before - held_after - markers),
                    "gained": sorted(held_after - held_before - markers),
                    "dropped_direct": sorted(direct_before - direct_after),
                }
                told = {
                    "from_plan": user.from_plan,
                    "to_plan": user.to_plan,
                    "lost": list(user.lost),
                    "gained": list(user.gained),
                    "dropped_direct": user.dropped_direct,
                }
                if said == "preview":
                    told |= {"plan lose": lose.get(user.user, []), "plan gain": gain.get(user.user, [])}
                    truth |= {"plan lose": truth["lost"], "plan gain": truth["gained"]}
                differences += [
                    f"{name} {user.user} {said} {key}: says {told[key]}, is {truth[key]}"
                    for key in truth
                    if told[key] != truth[key]
                ]
        seats = tenants.show_tenant(ctx, name).seats
        said_seats = {s.item: s.after for s in previews[name].seats if s.after}
        if said_seats != seats or row.seats_after != seats:
            differences.append(f"{name} seats: preview says {said_seats}, plan {row.seats_after}, are {seats}")
    assert not differences, "\n".join(differences)
