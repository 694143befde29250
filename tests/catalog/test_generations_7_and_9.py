"""Generations 9 (five flavours) and 7 (individual licenses with prerequisites)."""

import pytest

from lisens.catalog import load_catalog
from lisens.domain.engine import combine, expand
from lisens.domain.errors import InvalidCombination, UnknownGeneration, UnknownPlan
from lisens.domain.model import ExtraFlags

G9 = load_catalog("9")
G7 = load_catalog("7")

# Seed 004, "Standard CRM user": exactly these 18 licenses.
STANDARD_CRM = {
    "server", "user", "web", "pocket-crm-cal", "visible-for", "import", "dash", "document", "selection",
    "selection-cal", "selection-combined-cal", "relation", "relation-cal", "project", "project-cal",
    "mail-merge-cal", "sales-t1", "superlicense-contact-manager",
}  # fmt: skip


def test_generation_9_has_the_six_documented_plans_on_superlicense_plan_licenses() -> None:
    assert {key: plan.plan_license for key, plan in G9.plans.items()} == {
        "standard-crm": "superlicense-contact-manager",
        "sales": "superlicense-sales-pro",
        "service": "superlicense-service-pro",
        "marketing": "superlicense-marketing-pro",
        "complete": "superlicense-complete",
        "no-selection": "superlicense-no-selection",
    }


def test_standard_crm_issues_exactly_the_eighteen_licenses_of_seed_004() -> None:
    assert set(expand(G9.plans["standard-crm"])) == STANDARD_CRM


def test_no_selection_enables_nothing_and_is_unrestricted() -> None:
    plan = G9.plans["no-selection"]
    assert plan.user == ()
    assert plan.system == ()
    assert set(expand(plan)) == {"superlicense-no-selection"}
    assert G9.licenses["superlicense-no-selection"].unrestricted
    assert G9.licenses["superlicense-no-selection"].extra_info == "set="


def test_complete_is_the_union_of_the_four_flavours() -> None:
    flavours = ("standard-crm", "sales", "service", "marketing")
    union = set().union(*(set(G9.plans[key].user) for key in flavours))
    assert set(G9.plans["complete"].user) == union


def test_sales_service_and_marketing_include_the_standard_crm_feature_set() -> None:
    standard = G9.plans["standard-crm"].licenses - {"superlicense-contact-manager"}
    for key in ("sales", "service", "marketing", "complete"):
        assert standard <= G9.plans[key].licenses


def test_generation_9_plan_licenses_carry_extra_flags_1() -> None:
    for plan in G9.plans.values():
        assert G9.licenses[plan.plan_license].extra_flags is ExtraFlags.PLAN


def test_generation_9_does_not_combine_plans() -> None:
    with pytest.raises(InvalidCombination, match="generation 9 has no multi-plan users"):
        combine(G9, ["sales", "service"])


def test_generation_7_has_no_plans() -> None:
    assert G7.plans == {}
    with pytest.raises(UnknownPlan, match="this generation has no plans"):
        G7.require_base_plan("sales")


@pytest.mark.parametrize(
    ("license_name", "prerequisite"),
    [
        ("web", "user"),
        ("windows", "user"),
        ("travel", "windows"),
        ("remote-travel", "travel"),
        ("pocket-crm-cal", "user"),
        ("quote-cal", "user"),
    ],
)
def test_generation_7_licenses_carry_the_documented_prerequisites(license_name: str, prerequisite: str) -> None:
    assert G7.licenses[license_name].prerequisite == prerequisite
    assert license_name in G7.sold


def test_in_generation_7_the_user_licenses_are_visible_and_assignable() -> None:
    for name in ("user", "web", "windows", "pocket-crm-cal", "visible-for"):
        assert not G7.licenses[name].hidden


def test_an_unknown_generation_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownGeneration) as caught:
        load_catalog("12")
    assert caught.value.code == "UNKNOWN_GENERATION"
    assert "'12'" in caught.value.message
    assert "7, 9, 11" in caught.value.message


def test_every_license_a_plan_of_generation_9_issues_is_traced_to_a_feature_item_or_a_cited_fact() -> None:
    standard = G9.plans["standard-crm"].licenses  # seed 004's table; every other plan includes the set
    # The implied licenses the plan constants' own summaries list (SoLicenseNames A), e.g. SuperLicenseSalesPro:
    summaries = {"report-cal"}
    for plan in G9.plans.values():
        groups = {"standard-crm", plan.key} | ({"sales", "service", "marketing"} if plan.key == "complete" else set())
        traced = {name for f in G9.features if f.group in groups for name in f.licenses} | standard | summaries
        traced |= {plan.plan_license}
        traced |= {name.removesuffix("-cal") for name in traced}  # the feature / feature-cal pattern [DEV-IDX]
        assert plan.licenses <= traced, (plan.key, sorted(plan.licenses - traced))


def test_generation_9_sells_the_add_ons_its_sources_name_and_no_ai() -> None:
    assert set(G9.addons) == {"cep", "development-tools", "database-mirroring", "calendar-sync"}
    assert G9.provenance.kind == "derived"
