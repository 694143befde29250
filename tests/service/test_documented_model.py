"""The documented model on a real database: what a user holds, usable licenses, deterministic answers."""

from __future__ import annotations

import json
from datetime import timedelta

from lisens.service import moves, packages, panel, tenants, users
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant
from tests.seed004 import SEED_004_SALES_ESSENTIAL, SEED_004_STANDARD_CRM

AT = T0 + timedelta(hours=1)


def held(ctx: Context, tenant: str, user: str) -> set[str]:
    return {row.license.removeprefix("superoffice.") for row in users.show_user(ctx, tenant, user).effective}


def test_a_sales_essential_user_of_a_fresh_generation_11_tenant_holds_exactly_seed_004s_fifteen(
    ctx: Context,
) -> None:
    make_tenant(ctx, seats={"sales-essential": 1}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=AT)
    assert held(ctx, "acme", "alice") == SEED_004_SALES_ESSENTIAL


def test_a_standard_crm_user_of_a_fresh_generation_9_tenant_holds_exactly_seed_004s_eighteen(ctx: Context) -> None:
    make_tenant(ctx, generation="9", seats={"standard-crm": 1}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["standard-crm"], at=AT)
    assert held(ctx, "acme", "alice") == SEED_004_STANDARD_CRM


def test_the_package_of_a_sales_essential_tenant_lists_no_price_list_marker_and_no_unusable_license(
    ctx: Context,
) -> None:
    make_tenant(ctx, seats={"sales-essential": 1}, people=("alice",))
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=AT)
    package = packages.build_package(ctx, "acme", at=AT, sequence=1)
    modules = {str(m["ModuleName"]) for m in package["license"]["ModuleLicenses"]}
    assert modules >= SEED_004_SALES_ESSENTIAL
    assert not modules & {"ten", "g9", "travel", "remote-travel", "windows"}
    assert package["generation"] == "11"  # from the tenant's generation, not from a marker


def test_the_panel_offers_no_license_whose_prerequisite_the_generation_cannot_meet(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-essential": 1}, people=("alice",))
    text = json.dumps(panel.panel(ctx, "acme", show_all=True).plain())
    assert "superoffice.travel" not in text
    assert '"travel"' not in text


def test_moving_a_tenant_and_rolling_it_back_gives_byte_identical_licenses_json(ctx: Context) -> None:
    # Seats bought in an order other than the alphabetical one: the rollback stores them again.
    seats = {"service-essential": 1, "sales-premium": 2, "marketing-essential": 1}
    make_tenant(ctx, seats=seats, people=("alice", "bob"))
    for addon in ("development-tools", "cep", "database-mirroring"):
        tenants.add_addon(ctx, "acme", addon, at=AT)
    tenants.add_system_license(ctx, "acme", "superoffice.sale", at=AT)
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    users.assign(ctx, "acme", "bob", plans=["service-essential"], licenses=["visible-for"], at=AT)
    before = {name: json.dumps(users.show_user(ctx, "acme", name).plain()) for name in ("alice", "bob")}
    moves.apply(ctx, "acme", to="suite", at=AT + timedelta(days=1))
    moves.rollback(ctx, "acme", at=AT + timedelta(days=2))
    after = {name: json.dumps(users.show_user(ctx, "acme", name).plain()) for name in ("alice", "bob")}
    assert after == before
    server = next(row for row in json.loads(after["alice"])["effective"] if row["license"] == "superoffice.server")
    assert [(g["kind"], g["source"]) for g in server["granted_by"]] == [
        ("generation", "11"),
        ("plan", "marketing-essential"),
        ("plan", "sales-premium"),
        ("plan", "service-essential"),
    ]
