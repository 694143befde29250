"""The plan engine resolves effective licenses, answers has_license and explains its answers."""

import pytest

from lisens.catalog import load_catalog
from lisens.domain.engine import (
    HELD,
    NOT_ASSIGNED,
    NOT_IN_TENANT,
    UNKNOWN_LICENSE,
    Grant,
    require_plan,
    resolve,
    tenant_licenses,
)
from lisens.domain.errors import InvalidLicenseName, UnknownAddon
from lisens.domain.names import parse_license_name
from tests.seed004 import SEED_004_SALES_ESSENTIAL, SEED_004_STANDARD_CRM

G11 = load_catalog("11")
G7 = load_catalog("7")


def test_a_user_holds_the_tenant_system_licenses_the_plan_set_and_the_plan_license() -> None:
    plan = G11.plans["sales-essential"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    assert user.has_license("sale-cal")
    assert user.has_license("sale")
    assert user.has_license("ten-sales")
    assert not user.has_license("ten")  # no source issues the price-list marker to a tenant
    assert not user.has_license("quote-cal")


@pytest.mark.parametrize(
    "spelling", ["quote-cal", "QUOTE-CAL", "superoffice.quote-cal", "SuperOffice.quote-cal", "SUPEROFFICE.Quote-Cal"]
)
def test_has_license_takes_full_or_bare_names_case_insensitively(spelling: str) -> None:
    plan = G11.plans["sales-premium"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    assert user.has_license(spelling)


def test_a_bare_name_means_owner_superoffice_and_another_owner_is_a_different_license() -> None:
    plan = G11.plans["sales-premium"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan, direct=["ADWIZA.quote-cal"])
    assert user.has_license("adwiza.quote-cal")
    assert user.has_license("quote-cal")
    assert not user.has_license("adwiza.sale-cal")


def test_a_user_without_a_plan_holds_only_the_tenant_licenses_and_direct_ones() -> None:
    plan = G11.plans["service-premium"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=None, direct=["visible-for"])
    assert user.has_license("escalate")  # system: the tenant bought Service Premium
    assert not user.has_license("ej-client")
    assert user.has_license("visible-for")


def test_add_ons_turn_on_their_system_licenses_for_every_user() -> None:
    tenant = tenant_licenses(G11, addons=["cep", "development-tools"])
    user = resolve(G11, tenant)
    assert user.has_license("cep")
    assert user.has_license("expander-services")


def test_an_unknown_add_on_is_refused_by_name() -> None:
    with pytest.raises(UnknownAddon, match="'no-such-addon'"):
        tenant_licenses(G11, addons=["no-such-addon"])


def test_a_multi_plan_user_holds_the_union_of_the_parts_under_the_combined_plan_license() -> None:
    plan = require_plan(G11, "sales-essential+marketing-premium")
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    assert user.has_license("sale-cal")
    assert user.has_license("mktg-auto-cal")
    assert user.has_license("ten-salesmarketing")
    assert not user.has_license("ten-sales")
    assert not user.has_license("quote-cal")


def test_explain_names_everything_that_grants_a_held_license() -> None:
    plan = G11.plans["sales-premium"]
    tenant = tenant_licenses(G11, plans=[plan], addons=["cep"], system=["chat"])
    decision = resolve(G11, tenant, plan=plan, direct=["quote-cal"]).explain("QUOTE-CAL")
    assert decision.held
    assert decision.reason == HELD
    assert decision.license == "superoffice.quote-cal"
    assert decision.granted_by == (Grant("plan", "sales-premium"), Grant("direct", "superoffice.quote-cal"))
    chat = resolve(G11, tenant, plan=plan).explain("chat")
    assert chat.granted_by == (Grant("addon", "cep"), Grant("system", "superoffice.chat"))


def test_explain_says_which_plans_would_grant_a_missing_user_license() -> None:
    plan = G11.plans["sales-essential"]
    decision = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan).explain("quote-cal")
    assert not decision.held
    assert decision.reason == NOT_ASSIGNED
    assert decision.would_grant == (Grant("plan", "sales-premium"),)


def test_explain_says_which_add_on_would_grant_a_missing_system_license() -> None:
    decision = resolve(G11, tenant_licenses(G11)).explain("aicategorization")
    assert decision.reason == NOT_IN_TENANT
    assert decision.would_grant == (Grant("addon", "ai-categorization"),)


def test_explain_offers_direct_assignment_for_a_visible_user_license() -> None:
    decision = resolve(G7, tenant_licenses(G7)).explain("web")
    assert decision.reason == NOT_ASSIGNED
    assert Grant("direct", "superoffice.web") in decision.would_grant


def test_explain_of_an_unknown_name_says_so() -> None:
    decision = resolve(G11, tenant_licenses(G11)).explain("superoffice.no-such-thing")
    assert not decision.held
    assert decision.reason == UNKNOWN_LICENSE
    assert decision.would_grant == ()


def test_the_effective_licenses_are_listed_as_sorted_full_names() -> None:
    plan = G11.plans["sales-essential"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    assert user.licenses == tuple(sorted(user.licenses))
    assert len(user.licenses) == 15  # seed 004's fifteen
    assert all(name.startswith("superoffice.") for name in user.licenses)


@pytest.mark.parametrize("bad", ["", ".sale", "sale cal!", "super office.sale", "superoffice."])
def test_a_malformed_license_name_is_refused_with_a_code(bad: str) -> None:
    with pytest.raises(InvalidLicenseName) as caught:
        parse_license_name(bad)
    assert caught.value.code == "INVALID_LICENSE_NAME"


# ---------------------------------------------------------------- what a user holds, exactly


def test_a_sales_essential_user_of_a_tenant_that_bought_only_that_plan_holds_exactly_seed_004s_fifteen() -> None:
    plan = G11.plans["sales-essential"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    assert set(user.licenses) == {f"superoffice.{name}" for name in SEED_004_SALES_ESSENTIAL}


def test_a_standard_crm_user_of_a_generation_9_tenant_holds_exactly_seed_004s_eighteen() -> None:
    g9 = load_catalog("9")
    plan = g9.plans["standard-crm"]
    user = resolve(g9, tenant_licenses(g9, plans=[plan]), plan=plan)
    assert set(user.licenses) == {f"superoffice.{name}" for name in SEED_004_STANDARD_CRM}


def test_grants_are_listed_by_kind_then_source_whatever_order_plans_and_add_ons_come_in() -> None:
    plans = [G11.plans["sales-premium"], G11.plans["service-premium"]]
    one = tenant_licenses(G11, plans=plans, addons=["cep", "development-tools"], system=["superoffice.sale"])
    other = tenant_licenses(
        G11, plans=list(reversed(plans)), addons=["development-tools", "cep"], system=["superoffice.sale"]
    )
    assert one.sources == other.sources
    grants = one.sources["superoffice.sale"]
    assert [(g.kind, g.source) for g in grants] == [
        ("plan", "sales-premium"),
        ("system", "superoffice.sale"),
    ]
    server = one.sources["superoffice.server"]
    assert [g.kind for g in server] == ["generation", "plan", "plan"]
    assert [g.source for g in server][1:] == ["sales-premium", "service-premium"]
