"""CRM Suite: one cumulative plan per tenant, `suite-user` for every seat, tier licenses and plan limits."""

from itertools import pairwise

from lisens.catalog import load_catalog
from lisens.domain.engine import expand
from lisens.domain.model import ExtraFlags

SUITE = load_catalog("suite")


def test_the_five_plans_are_cumulative_and_share_the_suite_user_plan_license() -> None:
    keys = ["starter", "core", "growth", "plus", "super"]
    assert list(SUITE.plans) == keys
    assert {plan.plan_license for plan in SUITE.plans.values()} == {"suite-user"}
    for lower, higher in pairwise(keys):
        lost = SUITE.plans[lower].licenses - SUITE.plans[higher].licenses
        assert lost <= {f"suite{n}" for n in range(1, 6)}, (lower, higher, lost)
    assert SUITE.tenant_plan


def test_each_plan_carries_its_tier_license_and_the_suite_marker() -> None:
    for number, plan in enumerate(SUITE.plans.values(), start=1):
        assert {"suite", f"suite{number}"} <= set(expand(plan))
    assert SUITE.licenses["suite-user"].extra_flags is ExtraFlags.PLAN
    assert SUITE.licenses["suite"].hidden


def test_the_documented_plan_limits() -> None:
    unlimited = None
    table = {
        "dashboards": [3, unlimited, unlimited, unlimited, unlimited],
        "projects": [0, 100, unlimited, unlimited, unlimited],
        "custom-objects": [0, 0, 15, unlimited, unlimited],
        "marketing-flows": [0, 0, 0, 10, unlimited],
    }
    for metric, limits in table.items():
        assert [plan.limits.get(metric) for plan in SUITE.plans.values()] == limits, metric


def test_development_tools_and_calendar_sync_are_included_from_core() -> None:
    assert "expander-services" not in SUITE.plans["starter"].licenses
    assert {"expander-services", "synchronizer"} <= SUITE.plans["core"].licenses
