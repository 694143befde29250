"""has_license answers from a per-user memo: the memo never leaks between users or spellings."""

from lisens.catalog import load_catalog
from lisens.domain.engine import resolve, tenant_licenses

G11 = load_catalog("11")


def test_each_user_answers_from_its_own_licenses_whatever_was_asked_before() -> None:
    essential, premium = G11.plans["sales-essential"], G11.plans["sales-premium"]
    tenant = tenant_licenses(G11, plans=[essential, premium])
    without = resolve(G11, tenant, plan=essential)
    with_quotes = resolve(G11, tenant, plan=premium)
    for _ in range(3):
        assert not without.has_license("Superoffice.Quote-Cal")
        assert with_quotes.has_license("Superoffice.Quote-Cal")
        assert not without.has_license("quote-cal")
        assert with_quotes.has_license("quote-cal")


def test_a_user_with_many_distinct_questions_still_answers_each_correctly() -> None:
    plan = G11.plans["sales-premium"]
    user = resolve(G11, tenant_licenses(G11, plans=[plan]), plan=plan)
    asked = [f"partner{n}.module" for n in range(5000)]
    assert not any(user.has_license(name) for name in asked)
    assert user.has_license("SALE-CAL")
    assert not user.has_license("mktg-auto-cal")
