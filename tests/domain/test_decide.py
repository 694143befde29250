"""The one decision: the rules in their order, for any user, license and moment."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from lisens.catalog import load_catalog
from lisens.domain.billing import Contract
from lisens.domain.decide import Decider, Holder, decide, held, term_at
from lisens.domain.engine import require_plan, resolve, tenant_licenses

CATALOG = load_catalog("11")
PLAN = require_plan(CATALOG, "sales-essential")
TENANT = tenant_licenses(CATALOG, plans=[PLAN])
ALICE = Holder("alice", False, resolve(CATALOG, TENANT, plan=PLAN))
RETIRED = Holder("old", True, resolve(CATALOG, TENANT, plan=PLAN))
CONTRACT = Contract(start=date(2026, 1, 1), period=1, cancelled=date(2026, 3, 1))  # expiry 2027-01-01
INSIDE, GRACE, AFTER, BEFORE = date(2026, 6, 1), date(2027, 1, 5), date(2027, 2, 1), date(2025, 12, 1)


def reasons(holder: Holder | None, day: date, *names: str) -> list[tuple[bool, str, str | None]]:
    return [(d.held, d.reason, d.warning) for d in decide(holder, names, term_at(CONTRACT, day))]


def test_inside_the_term_the_resolution_decides() -> None:
    assert reasons(ALICE, INSIDE, "sale-cal", "quote-cal", "nothing-like-it") == [
        (True, "HELD", None),
        (False, "NOT_ASSIGNED", None),
        (False, "UNKNOWN_LICENSE", None),
    ]


def test_an_unknown_or_retired_user_holds_nothing_whatever_the_moment() -> None:
    for day in (BEFORE, INSIDE, GRACE, AFTER):
        assert reasons(None, day, "sale-cal") == [(False, "UNKNOWN_USER", None)]
        assert reasons(RETIRED, day, "sale-cal") == [(False, "USER_RETIRED", None)]


def test_before_the_start_and_after_grace_nothing_is_held_but_unknown_names_stay_unknown() -> None:
    assert reasons(ALICE, BEFORE, "sale-cal", "x-y-z") == [
        (False, "LICENSE_NOT_STARTED", None),
        (False, "UNKNOWN_LICENSE", None),
    ]
    assert reasons(ALICE, AFTER, "sale-cal", "quote-cal") == [
        (False, "LICENSE_EXPIRED", None),
        (False, "LICENSE_EXPIRED", None),
    ]
    assert held(ALICE, term_at(CONTRACT, AFTER)) == ()


def test_in_grace_everything_is_decided_as_before_with_a_warning() -> None:
    assert reasons(ALICE, GRACE, "sale-cal", "quote-cal") == [
        (True, "HELD", "LICENSE_IN_GRACE"),
        (False, "NOT_ASSIGNED", "LICENSE_IN_GRACE"),
    ]


def test_a_tenant_without_a_subscription_has_no_term() -> None:
    term = term_at(None, date(2999, 1, 1))
    assert (term.blocking, term.warning) == (None, None)
    assert decide(ALICE, ["sale-cal"], term)[0].held


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), st.booleans())
def test_a_list_of_held_licenses_and_the_decision_agree_on_every_day(day: date, explain: bool) -> None:
    term = term_at(CONTRACT, day)
    names = sorted(CATALOG.licenses)
    listed = set(held(ALICE, term))
    decisions = Decider(names, term, explain=explain).decide(ALICE)
    assert {d.license for d in decisions if d.held} == listed & {d.license for d in decisions}


def test_users_of_one_kind_share_one_tuple_of_decisions() -> None:
    decider = Decider(["sale-cal", "quote-cal"], term_at(CONTRACT, INSIDE))
    twin = Holder("bob", False, ALICE.resolution)
    assert decider.decide(ALICE) is decider.decide(twin)
