"""Generation 11 ("Ten") holds what the seeds and the reference state, and the one-tier-per-solution rule."""

import csv
import re
from pathlib import Path

import pytest

from lisens.catalog import load_catalog
from lisens.domain.engine import combinations, combine, expand
from lisens.domain.errors import InvalidCombination
from lisens.domain.model import ExtraFlags, LicenseType

G11 = load_catalog("11")

# Seed 004, "Sales-Essential user": exactly these 15 licenses.
SALES_ESSENTIAL = {
    "server", "user", "web", "pocket-crm-cal", "visible-for", "import", "dash", "document", "selection",
    "relation", "relation-cal", "sale", "sale-cal", "sales-t1", "ten-sales",
}  # fmt: skip
SALES_PREMIUM_EXTRA_INFO = (
    "set=user,web,pocket-crm-cal,selection-cal,relation-cal,report-cal,chat-cal,forms-cal,sale-cal,t2,saint-cal,"
    "target-cal,project-cal,quote-cal,guide-cal,stakeholder-cal,dash-cal,selection-combined-cal"
)
ALL_PREMIUM_EXTRA_INFO = (
    "set=user,web,pocket-crm-cal,selection-cal,relation-cal,report-cal,project-cal,guide-cal,saint-cal,"
    "selection-combined-cal,mail-merge-cal,chat-cal,forms-cal,ej-client,t2,dash-cal,sale-cal,target-cal,quote-cal,"
    "stakeholder-cal,ej-mod-spm-cal,mktg-auto-cal"
)
# Seeds 001 and 003, word for word: the 20 legal combinations.
SEED_COMBINATIONS = """
Sales-Essentials + Service-Essentials
Sales-Essentials + Service-Essentials + Marketing-Essentials
Sales-Essentials + Service-Essentials + Marketing-Premium
Sales-Essentials + Service-Premium
Sales-Essentials + Service-Premium + Marketing-Essentials
Sales-Essentials + Service-Premium + Marketing-Premium
Sales-Essentials + Marketing-Essentials
Sales-Essentials + Marketing-Premium
Sales-Premium + Service-Essentials
Sales-Premium + Service-Essentials + Marketing-Essentials
Sales-Premium + Service-Essentials + Marketing-Premium
Sales-Premium + Service-Premium
Sales-Premium + Service-Premium + Marketing-Essentials
Sales-Premium + Service-Premium + Marketing-Premium
Sales-Premium + Marketing-Essentials
Sales-Premium + Marketing-Premium
Service-Essentials + Marketing-Essentials
Service-Essentials + Marketing-Premium
Service-Premium + Marketing-Essentials
Service-Premium + Marketing-Premium
"""


def seed_key(seed_name: str) -> str:
    return seed_name.strip().lower().replace("essentials", "essential")


def test_the_six_base_plans_have_the_documented_keys() -> None:
    assert list(G11.plans) == [
        "sales-essential", "sales-premium", "service-essential", "service-premium",
        "marketing-essential", "marketing-premium",
    ]  # fmt: skip


def test_sales_essential_issues_exactly_the_fifteen_licenses_of_seed_004() -> None:
    assert set(expand(G11.plans["sales-essential"])) == SALES_ESSENTIAL


def test_sales_premium_carries_the_documented_extra_info_verbatim() -> None:
    assert G11.plans["sales-premium"].extra_info == SALES_PREMIUM_EXTRA_INFO


def test_the_all_premium_combination_carries_the_documented_extra_info_verbatim() -> None:
    plan = combine(G11, ["marketing-premium", "sales-premium", "service-premium"])
    assert plan.plan_license == "ten-salesservicemarketing"
    assert plan.extra_info == ALL_PREMIUM_EXTRA_INFO
    assert plan.description == "SalesPremiumServicePremiumMarketingPremium"


def test_the_plan_license_rows_show_the_documented_premium_extra_info() -> None:
    assert G11.licenses["ten-sales"].extra_info == SALES_PREMIUM_EXTRA_INFO
    assert G11.licenses["ten-salesservicemarketing"].extra_info == ALL_PREMIUM_EXTRA_INFO
    assert G11.licenses["ten-sales"].extra_flags is ExtraFlags.PLAN


def test_one_tier_per_solution_yields_exactly_the_twenty_combinations_of_the_seeds() -> None:
    expected = {"+".join(seed_key(part) for part in line.split("+")) for line in SEED_COMBINATIONS.strip().splitlines()}
    assert len(expected) == 20
    assert {plan.key for plan in combinations(G11)} == expected


@pytest.mark.parametrize(
    ("solutions", "plan_license"),
    [
        (["sales-essential", "service-premium"], "ten-salesservice"),
        (["sales-premium", "marketing-essential"], "ten-salesmarketing"),
        (["service-essential", "marketing-premium"], "ten-servicemarketing"),
        (["sales-essential", "service-essential", "marketing-essential"], "ten-salesservicemarketing"),
    ],
)
def test_each_combination_gets_the_combined_plan_license_of_its_solutions(
    solutions: list[str], plan_license: str
) -> None:
    assert combine(G11, solutions).plan_license == plan_license


def test_a_combined_plan_issues_the_union_of_its_parts() -> None:
    parts = [G11.plans["sales-premium"], G11.plans["service-essential"]]
    plan = combine(G11, [p.key for p in parts])
    assert set(plan.user) == set(parts[0].user) | set(parts[1].user)
    assert set(plan.system) == set(parts[0].system) | set(parts[1].system)
    assert set(expand(plan)) == (parts[0].licenses | parts[1].licenses) - {"ten-sales", "ten-service"} | {
        "ten-salesservice"
    }


def test_a_mixed_tier_combination_carries_t2_and_both_solution_markers() -> None:
    plan = combine(G11, ["sales-premium", "service-essential"])
    assert "t2" in plan.user
    assert {"sales-t2", "service-t1"} <= set(plan.system)


def test_two_tiers_of_one_solution_raise_invalid_combination_naming_the_clash() -> None:
    with pytest.raises(InvalidCombination) as caught:
        combine(G11, ["sales-essential", "service-premium", "sales-premium"])
    assert caught.value.code == "INVALID_COMBINATION"
    assert "sales-essential" in caught.value.message
    assert "sales-premium" in caught.value.message
    assert caught.value.details["clash"] == ["sales-essential", "sales-premium"]


def test_naming_one_plan_twice_is_an_invalid_combination() -> None:
    with pytest.raises(InvalidCombination, match="named twice"):
        combine(G11, ["sales-premium", "sales-premium"])


def test_tier_markers_carry_extra_flags_2_and_stay_visible() -> None:
    for name in ("sales-t1", "sales-t2", "service-t1", "service-t2", "marketing-t1", "marketing-t2"):
        marker = G11.licenses[name]
        assert marker.extra_flags is ExtraFlags.TIER_MARKER
        assert marker.type is LicenseType.SYSTEM
        assert not marker.hidden


def test_licenses_a_plan_implies_are_hidden_but_plan_licenses_and_visible_for_are_not() -> None:
    assert G11.licenses["sale-cal"].hidden
    assert G11.licenses["user"].hidden
    assert G11.licenses["t2"].hidden
    assert not G11.licenses["ten-sales"].hidden
    assert not G11.licenses["visible-for"].hidden


def test_every_plan_license_of_the_generation_is_a_user_license_with_extra_flags_1() -> None:
    names = {"ten-sales", "ten-service", "ten-marketing", "ten-salesservice", "ten-salesmarketing",
             "ten-servicemarketing", "ten-salesservicemarketing"}  # fmt: skip
    assert names == G11.plan_license_names
    for name in names:
        assert G11.licenses[name].type is LicenseType.USER
        assert G11.licenses[name].extra_flags is ExtraFlags.PLAN


def test_every_entry_records_its_provenance() -> None:
    for plan in [*G11.plans.values(), *combinations(G11)]:
        assert plan.provenance.kind in ("documented", "derived")
        assert plan.provenance.source
    for license_ in G11.licenses.values():
        assert license_.provenance.source


def test_every_name_of_the_reference_list_is_a_superoffice_module_license() -> None:
    with (Path(__file__).parent.parent / "data" / "license-names.csv").open(encoding="utf-8") as source:
        names = {row["module"] for row in csv.DictReader(source)}
    assert len(names) == 187
    known = load_catalog("7").licenses  # every module license; generation 11 leaves out what it cannot use
    assert names <= set(known)
    assert all(known[name].owner == "SUPEROFFICE" for name in names)


def test_user_licenses_list_their_allowed_user_types_and_system_licenses_none() -> None:
    assert {t.value for t in G11.licenses["extern-user-cal"].allowed_user_types} == {"external"}
    assert {t.value for t in G11.licenses["sale-cal"].allowed_user_types} == {"internal"}
    assert G11.licenses["sale"].allowed_user_types == frozenset()


def test_every_feature_is_named_in_english_swedish_and_german() -> None:
    assert len(G11.features) >= 60
    for feature in G11.features:
        assert set(feature.names) == {"en", "sv", "de"}
        assert all(feature.names.values())


def test_the_swedish_seed_feature_names_are_in_the_catalog() -> None:
    swedish = {feature.names["sv"] for feature in G11.features}
    assert {"Försäljningsprognoser", "Kunskapsbas (FAQs)", "Marketing automation (flöden)"} <= swedish


def test_each_addon_turns_on_system_licenses_of_the_catalog() -> None:
    assert {"cep", "ai-platform", "ai-copilot", "development-tools", "database-mirroring", "calendar-sync"} <= set(
        G11.addons
    )
    for addon in G11.addons.values():
        assert addon.system
        for name in addon.system:
            assert G11.licenses[name].type is not LicenseType.USER
    assert G11.addons["ai-categorization"].requires == "ai-platform"


# ---------------------------------------------------------------- the documented model, exactly


def test_no_tenant_of_generation_9_or_11_is_issued_a_price_list_marker() -> None:
    assert G11.tenant_system == ("server",)
    assert load_catalog("9").tenant_system == ("server",)


def test_marketing_premium_adds_marketing_automation_and_its_tier_markers_only() -> None:
    essential, premium = G11.plans["marketing-essential"], G11.plans["marketing-premium"]
    assert premium.licenses - essential.licenses == {"mktg-auto", "mktg-auto-cal", "marketing-t2", "t2"}
    # the documented Premium sets hold no visible-for; it stays assignable by hand
    assert essential.licenses - premium.licenses == {"marketing-t1", "visible-for"}
    assert not {"saint", "saint-cal", "guide", "guide-cal", "report", "report-cal", "chat-cal", "chat-free"} & (
        premium.licenses
    )


COMMON_BASE = {"server", "import", "dash", "document", "selection", "relation", "user", "web", "pocket-crm-cal",
               "visible-for", "relation-cal"}  # fmt: skip  # seed 004's Sales-Essential table without its sales rows
MARKERS = {"t1", "t2", "sales-t1", "sales-t2", "service-t1", "service-t2", "marketing-t1", "marketing-t2"}


def test_every_license_a_plan_of_generation_11_issues_is_traced_to_a_feature_item_or_a_quoted_fact() -> None:
    for plan in G11.plans.values():
        groups = {"common", plan.key, f"{plan.solution}-essential"}
        traced = {name for f in G11.features if f.group in groups for name in f.licenses}
        traced |= COMMON_BASE | MARKERS | {plan.plan_license}
        quoted = " ".join(plan.provenance.quotes)
        traced |= {name for name in plan.licenses if f",{name}," in re.sub(r"[=<`\s]", ",", quoted)}
        traced |= {name.removesuffix("-cal") for name in traced}  # the feature / feature-cal pattern [DEV-IDX]
        assert plan.licenses <= traced, (plan.key, sorted(plan.licenses - traced))


def test_superoffice_ai_includes_copilot_and_expander_services_includes_the_development_products() -> None:
    assert G11.addons["ai-copilot"].system == ("aicopilot",)
    assert G11.addons["ai-copilot"].requires == "ai-platform"
    expander = set(G11.addons["development-tools"].system)
    assert {"expander-services", "sandbox", "db-mirror", "scim", "databridge"} <= expander
    assert not {"sandbox", "scim", "databridge"} & set(G11.addons)  # not sold one by one
    assert "database-mirroring" in G11.addons  # a subscription of its own [DP-TEN]


def test_a_generation_offers_no_license_whose_prerequisite_it_can_never_meet() -> None:
    assert "travel" not in G11.licenses
    assert "remote-travel" not in G11.licenses
    assert "windows" in G11.licenses  # known, but not sold: nothing needing it is offered
    g7 = load_catalog("7")
    assert {"travel", "remote-travel"} <= set(g7.licenses)  # generation 7 sells windows
    for catalog in (G11, load_catalog("9"), g7, load_catalog("suite")):
        for license_ in catalog.licenses.values():
            assert license_.prerequisite is None or license_.prerequisite in catalog.licenses
