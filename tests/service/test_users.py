"""Assignment on a real database: one plan per user, seats never oversold, clear refusals, nothing half-done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lisens.db.repositories import UserRepository
from lisens.domain.errors import LisensError
from lisens.service import tenants, users
from lisens.service.context import Context
from lisens.service.state import load_state
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

AT = T0 + timedelta(hours=1)


def refused(code: str, call: object, *args: object, **kwargs: object) -> LisensError:
    assert callable(call)
    with pytest.raises(LisensError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_assigning_a_plan_gives_the_user_its_licenses(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    decisions = {d.license: d for d in users.check(ctx, "acme", "alice", ["quote-cal", "sale", "mktg-auto-cal"])}
    assert decisions["superoffice.quote-cal"].held
    assert decisions["superoffice.sale"].held
    assert decisions["superoffice.mktg-auto-cal"].reason == "NOT_ASSIGNED"


def test_assigning_several_plans_makes_a_multi_plan_user_of_the_combined_plan(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium+service-essential": 1})
    result = users.assign(ctx, "acme", "alice", plans=["service-essential", "sales-premium"], at=AT)
    assert result.after.plan == "sales-premium+service-essential"
    assert users.check(ctx, "acme", "alice", ["ten-salesservice"])[0].held


def test_changing_plan_is_one_switch_that_frees_the_old_seat(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1, "sales-essential": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=AT)
    users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=AT)
    counts = UserRepository(ctx.session).plan_counts(load_state(ctx, "acme").id)
    assert counts == {"sales-essential": 1, "sales-premium": 1}


def test_no_free_seat_is_refused_naming_the_license_total_and_in_use(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    error = refused("SEAT_LIMIT_REACHED", users.assign, ctx, "acme", "bob", plans=["sales-premium"], at=AT)
    assert "ten-sales" in error.message
    assert error.details["total"] == 1
    assert error.details["in_use"] == 1
    assert users.show_user(ctx, "acme", "bob").plan is None


def test_a_plan_the_tenant_never_bought_has_no_seat(ctx: Context) -> None:
    make_tenant(ctx)
    error = refused("SEAT_LIMIT_REACHED", users.assign, ctx, "acme", "alice", plans=["marketing-premium"], at=AT)
    assert error.details["total"] == 0


def test_an_illegal_combination_is_refused_and_changes_nothing(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    refused(
        "INVALID_COMBINATION", users.assign, ctx, "acme", "alice", plans=["sales-premium", "sales-essential"], at=AT
    )
    assert users.show_user(ctx, "acme", "alice").plan == "sales-premium"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"plans": ["gold"]}, "UNKNOWN_PLAN"),
        ({"licenses": ["no-such-license"]}, "UNKNOWN_LICENSE"),
        ({"licenses": ["quote-cal"]}, "LICENSE_HIDDEN"),
        ({"licenses": ["sale"]}, "SYSTEM_LICENSE_NOT_ASSIGNABLE"),
        ({"licenses": ["ten-sales"]}, "PLAN_LICENSE_NOT_ASSIGNABLE"),
        ({"licenses": ["extern-user-cal"]}, "USER_TYPE_NOT_ALLOWED"),
        ({}, "NOTHING_TO_ASSIGN"),
    ],
)
def test_bad_assignments_are_refused_with_a_stable_code(ctx: Context, kwargs: dict[str, list[str]], code: str) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    refused(code, users.assign, ctx, "acme", "alice", at=AT, **kwargs)
    assert users.show_user(ctx, "acme", "alice").licenses == []


def test_a_plan_is_refused_for_a_user_type_it_does_not_allow(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1}, people=())
    users.add_user(ctx, "acme", "portal", user_type="external", at=AT)
    error = refused("USER_TYPE_NOT_ALLOWED", users.assign, ctx, "acme", "portal", plans=["sales-premium"], at=AT)
    assert "external" in error.message


def test_unrestricted_visible_for_can_be_assigned_directly_in_every_generation(ctx: Context) -> None:
    for generation in ("7", "9", "11"):
        name = f"t{generation}"
        make_tenant(ctx, name, generation=generation, people=("dana",))
        users.assign(ctx, name, "dana", licenses=["visible-for"], at=AT)
        assert users.check(ctx, name, "dana", ["superoffice.visible-for"])[0].held


def test_generation_7_mixes_and_matches_individual_licenses_with_prerequisites(ctx: Context) -> None:
    make_tenant(ctx, "old", generation="7", seats={"user": 2, "web": 1, "windows": 1})
    refused("PREREQUISITE_MISSING", users.assign, ctx, "old", "alice", licenses=["web"], at=AT)
    users.assign(ctx, "old", "alice", licenses=["user", "web"], at=AT)
    users.assign(ctx, "old", "bob", licenses=["user", "windows", "travel"], at=AT)
    error = refused("SEAT_LIMIT_REACHED", users.assign, ctx, "old", "bob", licenses=["web"], at=AT)
    assert error.details == {"license": "superoffice.web", "item": "superoffice.web", "total": 1, "in_use": 1}
    assert users.check(ctx, "old", "bob", ["travel"])[0].held


def test_a_failed_request_leaves_none_of_its_earlier_steps_behind(ctx: Context) -> None:
    make_tenant(ctx, "old", generation="7", seats={"user": 1, "web": 1})
    users.assign(ctx, "old", "alice", licenses=["user"], at=AT)
    # `user` has no free seat for bob: the plan step before it must not stay either.
    with pytest.raises(LisensError), ctx.session.begin_nested():
        users.assign(ctx, "old", "bob", licenses=["web", "user"], at=AT)
    assert users.show_user(ctx, "old", "bob").licenses == []


def test_unassigning_a_prerequisite_that_others_need_is_refused(ctx: Context) -> None:
    make_tenant(ctx, "old", generation="7", seats={"user": 1, "web": 1})
    users.assign(ctx, "old", "alice", licenses=["user", "web"], at=AT)
    error = refused("PREREQUISITE_MISSING", users.unassign, ctx, "old", "alice", licenses=["user"], at=AT)
    assert "would leave superoffice.web without its prerequisite superoffice.user" in error.message


def test_unassign_removes_the_plan_or_a_direct_license(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], licenses=["visible-for"], at=AT)
    users.unassign(ctx, "acme", "alice", licenses=["visible-for"], at=AT)
    result = users.unassign(ctx, "acme", "alice", plan=True, at=AT)
    assert result.after.plain() == {**result.after.plain(), "plan": None, "licenses": []}
    refused("NOT_ASSIGNED", users.unassign, ctx, "acme", "alice", plan=True, at=AT)


def test_unassigning_a_license_that_comes_with_the_plan_says_so(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    error = refused("NOT_ASSIGNED", users.unassign, ctx, "acme", "alice", licenses=["quote-cal"], at=AT)
    assert "comes with plan sales-premium" in error.message


def test_retiring_a_user_removes_every_license_in_one_step(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], licenses=["visible-for"], at=AT)
    users.retire_user(ctx, "acme", "alice", at=AT)
    shown = users.show_user(ctx, "acme", "alice")
    assert (shown.plan, shown.licenses, shown.retired, shown.can_log_in) == (None, [], True, False)
    assert users.check(ctx, "acme", "alice", ["server"])[0].reason == "USER_RETIRED"
    refused("USER_RETIRED", users.assign, ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=AT)  # the seat is free again


def test_lowering_seats_below_in_use_is_refused_listing_the_holders(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=AT)
    error = refused("SEATS_BELOW_IN_USE", tenants.set_seats, ctx, "acme", "sales-premium", 1, at=AT)
    assert error.details["holders"] == ["alice", "bob"]
    assert error.details["remove"] == 1
    assert tenants.set_seats(ctx, "acme", "sales-premium", 2, at=AT).free == 0


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ("gold", "UNKNOWN_PLAN_OR_LICENSE"),
        ("sale", "SYSTEM_LICENSE_NOT_ASSIGNABLE"),
        ("ten-sales", "PLAN_LICENSE_NOT_ASSIGNABLE"),
        ("quote-cal", "LICENSE_HIDDEN"),
        ("sales-premium+sales-essential", "INVALID_COMBINATION"),
    ],
)
def test_seats_of_something_that_cannot_be_bought_are_refused(ctx: Context, item: str, code: str) -> None:
    make_tenant(ctx)
    refused(code, tenants.set_seats, ctx, "acme", item, 5, at=AT)


def test_a_negative_number_of_seats_is_refused(ctx: Context) -> None:
    make_tenant(ctx)
    refused("INVALID_NUMBER", tenants.set_seats, ctx, "acme", "sales-premium", -1, at=AT)


def test_add_ons_turn_on_their_system_licenses_and_respect_their_requirements(ctx: Context) -> None:
    make_tenant(ctx, seats={"service-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["service-premium"], at=AT)
    refused("ADDON_REQUIRES", tenants.add_addon, ctx, "acme", "ai-categorization", at=AT)
    tenants.add_addon(ctx, "acme", "ai-platform", at=AT)
    tenants.add_addon(ctx, "acme", "ai-categorization", at=AT)
    assert users.check(ctx, "acme", "alice", ["aicategorization"])[0].held
    refused("ADDON_REQUIRED", tenants.remove_addon, ctx, "acme", "ai-platform", at=AT)
    tenants.remove_addon(ctx, "acme", "ai-categorization", at=AT)
    assert not users.check(ctx, "acme", "alice", ["aicategorization"])[0].held


def test_partner_owners_have_their_own_licenses_with_seats(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    tenants.add_owner(ctx, "acme", "ADWIZA", description="Adwiza AS", at=AT)
    tenants.add_partner_license(ctx, "acme", "ADWIZA.campaign", license_type="user", at=AT)
    tenants.add_partner_license(ctx, "acme", "ADWIZA.core", license_type="system", at=AT)
    tenants.set_seats(ctx, "acme", "adwiza.campaign", 1, at=AT)
    users.assign(ctx, "acme", "alice", licenses=["adwiza.campaign"], at=AT)
    refused("SEAT_LIMIT_REACHED", users.assign, ctx, "acme", "bob", licenses=["ADWIZA.campaign"], at=AT)
    held = {d.license: d.held for d in users.check(ctx, "acme", "alice", ["adwiza.campaign", "adwiza.core"])}
    assert held == {"adwiza.campaign": True, "adwiza.core": True}
    refused("UNKNOWN_OWNER", tenants.add_partner_license, ctx, "acme", "OTHER.x", license_type="user", at=AT)


def test_effective_licenses_come_with_their_provenance(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 1})
    tenants.add_addon(ctx, "acme", "cep", at=AT)
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], licenses=["visible-for"], at=AT)
    effective = {e.license: [g.kind for g in e.granted_by] for e in users.show_user(ctx, "acme", "alice").effective}
    assert effective["superoffice.sale-cal"] == ["plan"]
    assert effective["superoffice.cep"] == ["addon"]
    assert effective["superoffice.server"] == ["generation", "plan"]  # every tenant; seed 004 lists it
    assert "superoffice.ten" not in effective  # no source issues the price-list marker
    assert effective["superoffice.visible-for"] == ["plan", "direct"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda ctx: tenants.create_tenant(ctx, name="acme", generation="11", at=AT), "TENANT_EXISTS"),
        (lambda ctx: tenants.create_tenant(ctx, name="new", generation="12", at=AT), "UNKNOWN_GENERATION"),
        (lambda ctx: tenants.create_tenant(ctx, name="bad name", generation="11", at=AT), "INVALID_NAME"),
        (lambda ctx: users.add_user(ctx, "acme", "alice", at=AT), "USER_EXISTS"),
        (lambda ctx: users.add_user(ctx, "acme", "zed", user_type="robot", at=AT), "INVALID_USER_TYPE"),
        (lambda ctx: users.add_user(ctx, "nowhere", "zed", at=AT), "UNKNOWN_TENANT"),
        (lambda ctx: users.check(ctx, "acme", "nobody", ["user"]), "UNKNOWN_USER"),
        (lambda ctx: tenants.add_addon(ctx, "acme", "gold", at=AT), "UNKNOWN_ADDON"),
    ],
)
def test_bad_tenant_and_user_requests_are_refused_with_a_stable_code(ctx: Context, call: object, code: str) -> None:
    make_tenant(ctx)
    refused(code, call, ctx)
