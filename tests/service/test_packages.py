"""Issuing and activating license packages, and issuing snapshots, on the database."""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lisens.domain.errors import LisensError
from lisens.offline import OfflineLicenses
from lisens.packages import verify_package
from lisens.service import packages, subscriptions, tenants, users
from lisens.service.context import Context
from lisens.signing import public_pem, sign
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

KEY = Ed25519PrivateKey.generate()
AT = T0 + timedelta(hours=1)


def test_a_package_carries_the_tenant_license_in_the_documented_shape(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 21})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=12, at=AT)
    document = packages.issue_package(ctx, "acme", KEY, at=AT)
    body = verify_package(document, KEY.public_key(), at=AT)
    info = body["license"]
    assert (info["CompanyName"], info["SerialNr"], info["OwnerName"]) == ("Acme AS", "4711", "SUPEROFFICE")
    assert (info["ExpiryDate"], info["GraceDate"], info["AdminWarningDate"]) == (
        "2027-01-01T00:00:00", "2027-01-13T00:00:00", "2026-12-01T00:00:00"
    )  # fmt: skip
    plan = next(m for m in info["ModuleLicenses"] if m["ModuleName"] == "ten-sales")
    assert (plan["NumberOfLicenses"], plan["ExtraFlags"], plan["LicenseType"]) == (21, 1, "UserLicense")
    assert plan["ExtraInfo"].startswith("set=user,web,pocket-crm-cal,selection-cal")
    assert body["not_after"].startswith("2027-01-13")
    assert body["purchases"]["seats"] == {"sales-premium": 21}


def test_the_same_content_gives_the_same_bytes(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    first = sign(packages.build_package(ctx, "acme", at=AT, sequence=1), KEY)
    second = sign(packages.build_package(ctx, "acme", at=AT, sequence=1), KEY)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def at_the_hour_after(ctx: Context, moment: datetime) -> Context:
    """The same unit of work with the server's clock an hour after `moment` (packages are judged by it)."""
    return replace(ctx, clock=lambda: moment + timedelta(hours=1))


def test_an_older_package_is_superseded_whoever_sends_it(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 8})
    eight = packages.issue_package(ctx, "acme", KEY, at=AT)
    tenants.set_seats(ctx, "acme", "sales-premium", 3, at=AT + timedelta(minutes=1))
    three = packages.issue_package(ctx, "acme", KEY, at=AT + timedelta(minutes=2))
    assert (eight["sequence"], three["sequence"]) == (1, 2)
    now = at_the_hour_after(ctx, AT)
    assert packages.activate_package(now, "acme", three, KEY.public_key()).activated
    for old in (eight, three):
        with pytest.raises(LisensError) as caught:
            packages.activate_package(now, "acme", old, KEY.public_key())
        assert caught.value.code == "PACKAGE_SUPERSEDED"
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 3}


def test_a_package_is_valid_by_the_server_clock_only(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    document = packages.issue_package(ctx, "acme", KEY, at=AT)
    expired = replace(ctx, clock=lambda: datetime.fromisoformat(document["not_after"]) + timedelta(seconds=1))
    with pytest.raises(LisensError) as caught:
        packages.activate_package(expired, "acme", document, KEY.public_key())
    assert caught.value.code == "PACKAGE_EXPIRED"
    early = replace(ctx, clock=lambda: AT - timedelta(days=1))
    with pytest.raises(LisensError) as not_yet:
        packages.activate_package(early, "acme", document, KEY.public_key())
    assert not_yet.value.code == "PACKAGE_NOT_YET_VALID"
    assert "at" not in inspect.signature(packages.activate_package).parameters


def test_a_package_with_fewer_seats_lowers_them_at_the_end_of_the_term(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 8})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=12, at=AT)
    tenants.set_seats(ctx, "acme", "sales-premium", 3, at=AT + timedelta(minutes=1))  # scheduled, not applied
    document = packages.issue_package(ctx, "acme", KEY, at=AT + timedelta(minutes=2))
    document = with_premium_seats(document, 3)
    done = packages.activate_package(at_the_hour_after(ctx, AT), "acme", document, KEY.public_key())
    assert [s.plain() for s in done.scheduled] == [{"item": "sales-premium", "number": 3, "effective": "2027-01-01"}]
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 8}


def test_a_package_the_vendor_issued_to_lower_now_lowers_at_activation(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 8})
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=12, at=AT)
    document = packages.issue_package(ctx, "acme", KEY, at=AT, lower_now=True)
    document = with_premium_seats(document, 3)
    done = packages.activate_package(at_the_hour_after(ctx, AT), "acme", document, KEY.public_key())
    assert [s.plain() for s in done.scheduled] == []
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 3}


def with_premium_seats(document: dict[str, Any], number: int) -> dict[str, Any]:
    """The vendor's package with another number of sales-premium seats, signed again."""
    body = {key: value for key, value in document.items() if key != "signature"}
    return sign({**body, "purchases": {"seats": {"sales-premium": number}, "addons": [], "system": []}}, KEY)


def test_activation_shows_the_changes_and_replaces_the_licenses(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    document = packages.build_package(ctx, "acme", at=AT, sequence=1)
    document["purchases"] = {"seats": {"sales-premium": 5, "service-premium": 1}, "addons": ["cep"], "system": []}
    document["license"]["ModuleLicenses"][0]["NumberOfLicenses"] += 0
    signed = sign(document, KEY)
    preview = packages.activate_package(at_the_hour_after(ctx, AT), "acme", signed, KEY.public_key(), dry_run=True)
    assert not preview.activated
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 2}
    done = packages.activate_package(at_the_hour_after(ctx, AT), "acme", signed, KEY.public_key())
    assert done.activated
    shown = tenants.show_tenant(ctx, "acme")
    assert (shown.seats, shown.addons) == ({"sales-premium": 5, "service-premium": 1}, ["cep"])


def test_activation_lowering_below_use_is_refused_listing_who_to_remove(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3})
    for name in ("alice", "bob", "carol"):
        users.assign(ctx, "acme", name, plans=["sales-premium"], at=AT)
    document = packages.build_package(ctx, "acme", at=AT, sequence=1)
    document["purchases"]["seats"] = {"sales-premium": 1}
    with pytest.raises(LisensError) as caught:
        packages.activate_package(at_the_hour_after(ctx, AT), "acme", sign(document, KEY), KEY.public_key())
    assert caught.value.code == "SUPERFLUOUS_LICENSES"
    [row] = caught.value.details["superfluous"]
    assert row == {
        "item": "sales-premium",
        "in_use": 3,
        "new_total": 1,
        "remove": 2,
        "holders": ["alice", "bob", "carol"],
    }
    assert tenants.show_tenant(ctx, "acme").seats == {"sales-premium": 3}


def test_a_package_for_another_tenant_or_tampered_is_refused(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    make_tenant(ctx, "other", people=())
    document = packages.issue_package(ctx, "acme", KEY, at=AT)
    with pytest.raises(LisensError) as wrong:
        packages.activate_package(at_the_hour_after(ctx, AT), "other", document, KEY.public_key())
    assert wrong.value.code == "PACKAGE_WRONG_TENANT"
    document["purchases"]["seats"]["sales-premium"] = 999
    with pytest.raises(LisensError) as tampered:
        packages.activate_package(at_the_hour_after(ctx, AT), "acme", document, KEY.public_key())
    assert tampered.value.code == "SIGNATURE_INVALID"


def test_a_snapshot_answers_offline_what_the_database_answers(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1, "sales-essential": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    users.assign(ctx, "acme", "bob", plans=["sales-essential"], at=AT)
    now = datetime.now(UTC)
    document = packages.issue_snapshot(ctx, "acme", KEY, at=now, ttl=timedelta(hours=1))
    offline = OfflineLicenses.load(json.dumps(document).encode(), public_pem(KEY.public_key()), tenant="acme")
    for user in ("alice", "bob", "carol"):
        for name in ("quote-cal", "sale-cal", "superoffice.ten", "mktg-auto-cal"):
            online = users.check(ctx, "acme", user, [name])[0].held
            assert offline.has_license(user, name) == online, (user, name)


def test_a_snapshot_ttl_outside_one_second_to_a_month_is_refused(ctx: Context) -> None:
    make_tenant(ctx)
    with pytest.raises(LisensError) as caught:
        packages.issue_snapshot(ctx, "acme", KEY, at=AT, ttl=timedelta(days=40))
    assert caught.value.code == "INVALID_TTL"
