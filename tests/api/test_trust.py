"""Trust over HTTP: tenant roles cannot set the time of a change, packages only move forward, the log is
paged and verifiable by the vendor."""

from __future__ import annotations

import json

from tests.api.conftest import Api


def test_a_tenant_admin_cannot_back_date_an_assignment(api: Api) -> None:
    before = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("acme-admin")).json()
    response = api.client.post(
        "/v1/tenants/acme/users/bob/assignments",
        headers=api.headers("acme-admin"),
        json={"plans": ["sales-essential"], "at": "2020-01-01T00:00:00Z"},
    )
    assert (response.status_code, response.json()["code"]) == (403, "TIME_NOT_ALLOWED")
    after = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("acme-admin")).json()
    assert after == before


def test_the_vendor_cannot_record_a_change_before_the_log(api: Api) -> None:
    response = api.client.put(
        "/v1/tenants/acme/seats/sales-premium",
        headers=api.headers("vendor"),
        json={"number": 30, "at": "2020-01-01T00:00:00Z"},
    )
    assert (response.status_code, response.json()["code"]) == (409, "CHANGE_BEFORE_HISTORY")


def test_a_vendor_change_dated_in_the_future_is_scheduled_not_applied(api: Api) -> None:
    vendor = api.headers("vendor")
    future = api.client.put(
        "/v1/tenants/acme/seats/sales-premium", headers=vendor, json={"number": 30, "at": "2999-06-01T00:00:00Z"}
    )
    assert future.is_success
    scheduled = future.json()["scheduled"]
    assert (scheduled["operation"], scheduled["effective"]) == ("tenants.set_seats", "2999-06-01T00:00:00+00:00")
    assert api.client.get("/v1/tenants/acme", headers=vendor).json()["seats"]["sales-premium"] != 30
    pending = api.client.get("/v1/tenants/acme/scheduled?pending=true", headers=api.headers("acme-admin")).json()
    assert [c["id"] for c in pending] == [scheduled["id"]]
    cancelled = api.client.delete(f"/v1/tenants/acme/scheduled/{scheduled['id']}", headers=vendor)
    assert cancelled.json()["state"] == "cancelled"
    admin = api.client.patch(
        "/v1/tenants/acme/users/bob",
        headers=api.headers("acme-admin"),
        json={"can_log_in": True, "at": "2999-06-01T00:00:00Z"},
    )
    assert (admin.status_code, admin.json()["code"]) == (403, "TIME_NOT_ALLOWED")


def test_an_old_package_cannot_buy_back_seats(api: Api) -> None:
    vendor, admin = api.headers("vendor"), api.headers("acme-admin")
    assert api.client.put("/v1/tenants/acme/seats/sales-essential", headers=vendor, json={"number": 8}).is_success
    eight = api.client.post("/v1/tenants/acme/packages", headers=vendor).json()
    assert api.client.put("/v1/tenants/acme/seats/sales-essential", headers=vendor, json={"number": 3}).is_success
    three = api.client.post("/v1/tenants/acme/packages", headers=vendor).json()
    assert eight["sequence"] < three["sequence"]
    assert api.client.post("/v1/tenants/acme/packages/activate", headers=admin, json={"package": three}).is_success
    again = api.client.post("/v1/tenants/acme/packages/activate", headers=admin, json={"package": eight})
    assert (again.status_code, again.json()["code"]) == (409, "PACKAGE_SUPERSEDED")
    agent = api.client.post("/api/v1/License", headers=admin, json=json.dumps(eight))
    assert (agent.status_code, agent.json()["code"]) == (409, "PACKAGE_SUPERSEDED")
    seats = api.client.get("/v1/tenants/acme", headers=admin).json()["seats"]
    assert seats["sales-essential"] == 3


def test_package_activation_takes_no_time_from_the_caller(api: Api) -> None:
    package = api.client.post("/v1/tenants/acme/packages", headers=api.headers("vendor")).json()
    response = api.client.post(
        "/v1/tenants/acme/packages/activate",
        headers=api.headers("acme-admin"),
        json={"package": package, "at": "2025-06-01T00:00:00Z"},
    )
    assert response.status_code == 422


def test_the_audit_log_comes_in_pages_linked_in_order(api: Api) -> None:
    admin = api.headers("acme-admin")
    whole = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=admin).json()
    assert len(whole) > 3
    seen: list[int] = []
    url: str | None = "/v1/tenants/acme/audit?limit=2"
    while url is not None:
        page = api.client.get(url, headers=admin)
        seen += [entry["seq"] for entry in page.json()]
        link = page.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else None
    assert seen == [entry["seq"] for entry in whole] == list(range(1, len(whole) + 1))


def test_only_the_vendor_verifies_logs(api: Api) -> None:
    verified = api.client.get("/v1/tenants/acme/audit/verify", headers=api.headers("vendor"))
    assert verified.status_code == 200
    assert (verified.json()["ok"], verified.json()["broken"]) == (True, None)
    assert api.client.get("/v1/audit/verify", headers=api.headers("vendor")).json()["ok"]
    refused = api.client.get("/v1/tenants/acme/audit/verify", headers=api.headers("acme-admin"))
    assert refused.status_code == 403
