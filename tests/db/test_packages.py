"""Issuing and activating license packages, and issuing snapshots, on the database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

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
    first = packages.issue_package(ctx, "acme", KEY, at=AT)
    second = packages.issue_package(ctx, "acme", KEY, at=AT)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_activation_shows_the_changes_and_replaces_the_licenses(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 2})
    document = packages.build_package(ctx, "acme", at=AT)
    document["purchases"] = {"seats": {"sales-premium": 5, "service-premium": 1}, "addons": ["cep"], "system": []}
    document["license"]["ModuleLicenses"][0]["NumberOfLicenses"] += 0
    signed = sign(document, KEY)
    preview = packages.activate_package(ctx, "acme", signed, KEY.public_key(), at=AT, dry_run=True)
    assert not preview["activated"]
    assert tenants.show_tenant(ctx, "acme")["seats"] == {"sales-premium": 2}
    done = packages.activate_package(ctx, "acme", signed, KEY.public_key(), at=AT)
    assert done["activated"]
    shown = tenants.show_tenant(ctx, "acme")
    assert (shown["seats"], shown["addons"]) == ({"sales-premium": 5, "service-premium": 1}, ["cep"])


def test_activation_lowering_below_use_is_refused_listing_who_to_remove(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 3})
    for name in ("alice", "bob", "carol"):
        users.assign(ctx, "acme", name, plans=["sales-premium"], at=AT)
    document = packages.build_package(ctx, "acme", at=AT)
    document["purchases"]["seats"] = {"sales-premium": 1}
    with pytest.raises(LisensError) as caught:
        packages.activate_package(ctx, "acme", sign(document, KEY), KEY.public_key(), at=AT)
    assert caught.value.code == "SUPERFLUOUS_LICENSES"
    [row] = caught.value.details["superfluous"]
    assert row == {
        "item": "sales-premium",
        "in_use": 3,
        "new_total": 1,
        "remove": 2,
        "holders": ["alice", "bob", "carol"],
    }
    assert tenants.show_tenant(ctx, "acme")["seats"] == {"sales-premium": 3}


def test_a_package_for_another_tenant_or_tampered_is_refused(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    make_tenant(ctx, "other", people=())
    document = packages.issue_package(ctx, "acme", KEY, at=AT)
    with pytest.raises(LisensError) as wrong:
        packages.activate_package(ctx, "other", document, KEY.public_key(), at=AT)
    assert wrong.value.code == "PACKAGE_WRONG_TENANT"
    document["purchases"]["seats"]["sales-premium"] = 999
    with pytest.raises(LisensError) as tampered:
        packages.activate_package(ctx, "acme", document, KEY.public_key(), at=AT)
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
            online = users.check(ctx, "acme", user, [name])[0]["held"]
            assert offline.has_license(user, name) == online, (user, name)


def test_a_snapshot_ttl_outside_one_second_to_a_month_is_refused(ctx: Context) -> None:
    make_tenant(ctx)
    with pytest.raises(LisensError) as caught:
        packages.issue_snapshot(ctx, "acme", KEY, at=AT, ttl=timedelta(days=40))
    assert caught.value.code == "INVALID_TTL"
