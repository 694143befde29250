"""Tenant tags and cohort move plans over /v1."""

from __future__ import annotations

from tests.api.conftest import Api


def test_a_tag_is_put_shown_with_the_tenant_and_deleted(api: Api) -> None:
    vendor = api.headers("vendor")
    answer = api.client.put("/v1/tenants/acme/tags/segment", headers=vendor, json={"value": "smb"})
    assert (answer.status_code, answer.json()["tags"]) == (200, {"segment": "smb"})
    assert api.client.get("/v1/tenants/acme", headers=vendor).json()["tags"] == {"segment": "smb"}
    assert api.client.delete("/v1/tenants/acme/tags/segment", headers=vendor).json()["tags"] == {}
    missing = api.client.delete("/v1/tenants/acme/tags/segment", headers=vendor)
    assert (missing.status_code, missing.json()["code"]) == (404, "NO_TAG")
    bad = api.client.put("/v1/tenants/acme/tags/Bad", headers=vendor, json={"value": "x"})
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_TAG")


def test_a_cohort_plan_answers_per_tenant_and_in_total(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.put("/v1/tenants/acme/tags/segment", headers=vendor, json={"value": "smb"})
    answer = api.client.post("/v1/moves/plans", headers=vendor, json={"to": "suite", "tags": {"segment": "smb"}})
    assert answer.status_code == 200
    plan = answer.json()
    assert [t["tenant"] for t in plan["tenants"]] == ["acme"]
    assert plan["tenants"][0]["monthly_before"] == "294.00"  # 3 x 59.00 + 3 x 39.00
    assert plan["summary"]["tenants"] == 1
    again = api.client.post("/v1/moves/plans", headers=vendor, json={"to": "suite", "tags": {"segment": "smb"}})
    assert again.content == answer.content


def test_only_the_vendor_plans_moves(api: Api) -> None:
    answer = api.client.post("/v1/moves/plans", headers=api.headers("acme-admin"), json={"to": "suite"})
    assert answer.status_code == 403
