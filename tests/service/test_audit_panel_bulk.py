"""The audit log answers "what did U hold at T"; the panel counts seats; bulk assignment is all or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisens.db.models import AuditRow
from lisens.domain.errors import LisensError
from lisens.service import audit, bulk, panel, tenants, users
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant


def test_every_change_writes_one_audit_entry_with_before_and_after(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0 + timedelta(days=1))
    entries = audit.audit_log(ctx, "acme")
    assert [e.action for e in entries] == ["tenant.create", "seats.set", "user.add", "assign"]
    last = entries[-1]
    assert last.user == "alice"
    assert last.actor == "test"
    assert last.before["plan"] is None
    assert last.after["plan"] == "sales-premium"


def test_a_refused_change_writes_no_audit_entry(ctx: Context) -> None:
    make_tenant(ctx, people=("alice",))
    before = ctx.session.query(AuditRow).count()
    with pytest.raises(LisensError), ctx.session.begin_nested():
        users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0 + timedelta(days=1))
    assert ctx.session.query(AuditRow).count() == before


def test_the_licenses_a_user_held_at_any_time_come_from_the_audit_log(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 1, "sales-premium": 1}, people=("alice",))
    day = timedelta(days=1)
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=T0 + 1 * day)
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0 + 3 * day)
    users.retire_user(ctx, "acme", "alice", at=T0 + 5 * day)
    on_day_2 = audit.holdings_at(ctx, "acme", "alice", T0 + 2 * day)
    on_day_4 = audit.holdings_at(ctx, "acme", "alice", T0 + 4 * day)
    on_day_6 = audit.holdings_at(ctx, "acme", "alice", T0 + 6 * day)
    assert on_day_2.plan == "sales-essential"
    assert "superoffice.quote-cal" not in on_day_2.licenses
    assert "superoffice.quote-cal" in on_day_4.licenses
    assert on_day_6.retired
    assert on_day_6.licenses == []
    with pytest.raises(LisensError) as caught:
        audit.holdings_at(ctx, "acme", "alice", T0 - day)
    assert caught.value.code == "NO_HISTORY"


def test_the_panel_shows_plans_with_total_in_use_and_free_and_hides_hidden_licenses(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3, "service-premium": 2})
    tenants.add_addon(ctx, "acme", "cep", at=T0)
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], licenses=["visible-for"], at=T0)
    users.assign(ctx, "acme", "bob", plans=["sales-premium"], at=T0)
    data = panel.panel(ctx, "acme")
    rows = {r.item: r for r in data.user_licenses}
    assert (rows["sales-premium"].total, rows["sales-premium"].in_use, rows["sales-premium"].free) == (3, 2, 1)
    assert rows["service-premium"].in_use == 0
    assert rows["superoffice.visible-for"].total is None  # unrestricted
    system = {r.license for r in data.system_licenses}
    assert "superoffice.cep" in system
    assert "superoffice.sales-t2" in system
    assert "superoffice.sale" not in system  # hidden
    assert data.company == "Acme AS"


def test_the_panel_with_all_lists_hidden_licenses_counted_through_the_plans(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3, "service-premium": 2})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=T0)
    users.assign(ctx, "acme", "bob", plans=["service-premium"], at=T0)
    data = panel.panel(ctx, "acme", show_all=True)
    rows = {r.item: r for r in data.user_licenses}
    assert (rows["superoffice.t2"].total, rows["superoffice.t2"].in_use) == (5, 2)
    assert (rows["superoffice.quote-cal"].total, rows["superoffice.quote-cal"].in_use) == (3, 1)
    assert "superoffice.sale" in {r.license for r in data.system_licenses}


CSV = """user,plans,licenses
alice,sales-premium,visible-for
bob,sales-essential+service-premium,
carol,sales-premium,
dave,sales-premium,
"""


def test_bulk_assignment_is_all_or_nothing_and_reports_every_failing_row(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1, "sales-essential+service-premium": 1}, people=("alice", "bob", "carol"))
    rows = bulk.parse_bulk_csv(CSV)
    with pytest.raises(LisensError) as caught, ctx.session.begin_nested():
        bulk.bulk_assign(ctx, "acme", rows, at=T0)
    failed = {f["user"]: f["code"] for f in caught.value.details["failed"]}
    assert failed == {"carol": "SEAT_LIMIT_REACHED", "dave": "UNKNOWN_USER"}
    assert caught.value.code == "BULK_ASSIGN_FAILED"
    assert users.show_user(ctx, "acme", "alice").plan is None


def test_bulk_assignment_with_partial_applies_the_valid_rows(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1, "sales-essential+service-premium": 1}, people=("alice", "bob", "carol"))
    seen: list[int] = []
    report = bulk.bulk_assign(ctx, "acme", bulk.parse_bulk_csv(CSV), partial=True, at=T0, progress=seen.append)
    assert report.applied == 2
    assert [f.line for f in report.failed] == [4, 5]
    assert len(seen) == 4
    assert users.show_user(ctx, "acme", "bob").plan == "sales-essential+service-premium"


def test_bulk_assignment_can_create_missing_users(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2}, people=())
    text = "user,plans,licenses,type\nerin,sales-premium,,internal\nfrank,sales-premium,,\n"
    report = bulk.bulk_assign(ctx, "acme", bulk.parse_bulk_csv(text), create_users=True, at=T0)
    assert report.applied == 2


def test_a_bulk_creating_users_also_replaces_the_plan_of_an_existing_user(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 1, "sales-premium": 3}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=T0)
    text = "user,plans\nalice,sales-premium\nerin,sales-premium\nfrank,sales-premium\n"
    report = bulk.bulk_assign(ctx, "acme", bulk.parse_bulk_csv(text), create_users=True, at=T0 + timedelta(days=1))
    assert report.applied == 3
    ctx.session.expire_all()
    assert {name: users.show_user(ctx, "acme", name).plan for name in ("alice", "erin", "frank")} == {
        "alice": "sales-premium",
        "erin": "sales-premium",
        "frank": "sales-premium",
    }


@pytest.mark.parametrize("text", ["name,plans\nalice,x\n", "user,plan,colour\nalice,x,red\n"])
def test_a_csv_with_missing_or_unknown_columns_is_refused(text: str) -> None:
    with pytest.raises(LisensError) as caught:
        bulk.parse_bulk_csv(text)
    assert caught.value.code == "INVALID_CSV"


def test_entries_without_a_snapshot_do_not_hide_the_tenants_history(ctx: Context) -> None:
    from lisens.service import tokens

    make_tenant(ctx, seats={"sales-essential": 1}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=T0 + timedelta(days=1))
    tokens.create_token(ctx, role="admin", tenant="acme", at=T0 + timedelta(days=2))
    held = audit.holdings_at(ctx, "acme", "alice", T0 + timedelta(days=3))
    assert held.plan == "sales-essential"


@given(st.text(max_size=200).map(lambda body: "user,plans,licenses\n" + body))
def test_any_csv_text_is_parsed_or_refused_as_invalid_csv(text: str) -> None:
    codes: list[str] = []
    rows: list[bulk.BulkRow] = []
    try:
        rows = bulk.parse_bulk_csv(text)
    except LisensError as error:
        codes.append(error.code)
    assert codes in ([], ["INVALID_CSV"])
    assert all(isinstance(row.user, str) for row in rows)
