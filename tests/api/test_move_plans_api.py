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
    assert list(plan) == ["to", "prices", "example_prices", "selection", "summary", "tenants", "skipped"]
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_a_cohort_plan_as_csv_has_a_line_per_tenant(api: Api) -> None:
    vendor = api.headers("vendor")
    body = {"to": "suite", "generation": "11"}
    plan = api.client.post("/v1/moves/plans", headers=vendor, json=body).json()
    answer = api.client.post("/v1/moves/plans?format=csv", headers=vendor, json=body)
    assert (answer.status_code, answer.headers["content-type"].split(";")[0]) == (200, "text/csv")
    lines = answer.text.splitlines()
    assert lines[0].startswith("tenant,from,to,tenant_plan,users,")
    assert [line.split(",")[0] for line in lines[1:]] == [t["tenant"] for t in plan["tenants"]]
    assert len(lines) > 1
    bad = api.client.post("/v1/moves/plans?format=xml", headers=vendor, json=body)
    assert bad.status_code == 422


def test_a_refused_plan_is_a_problem_before_any_row(api: Api) -> None:
    vendor = api.headers("vendor")
    for body, code in (
        ({"to": "suite", "tenants": ["nobody"]}, "UNKNOWN_TENANT"),
        ({"to": "nowhere"}, "UNKNOWN_GENERATION"),
    ):
        for query in ("", "?format=csv"):
            answer = api.client.post(f"/v1/moves/plans{query}", headers=vendor, json=body)
            assert (answer.status_code, answer.json()["code"]) == (404 if code == "UNKNOWN_TENANT" else 422, code)


def test_only_the_vendor_plans_moves(api: Api) -> None:
    answer = api.client.post("/v1/moves/plans", headers=api.headers("acme-admin"), json={"to": "suite"})
    assert answer.status_code == 403


SUITE_PRICES = {
    "currency": "EUR",
    "monthly": {"starter": "25.00", "core": "45.00", "growth": "70.00", "plus": "90.00", "super": "120.00"},
}


def _installed_addons() -> dict[str, str]:
    from lisens.catalog.prices import load_price_list

    return {key: f"{value:.2f}" for key, value in load_price_list("suite").addons.items()}


def test_a_plan_priced_with_what_if_prices_uses_them_and_installs_nothing(api: Api) -> None:
    vendor = api.headers("vendor")
    body: dict[str, object] = {"to": "suite", "tenants": ["acme"]}
    installed = api.client.post("/v1/moves/plans", headers=vendor, json=body).json()
    doubled = {key: f"{2 * float(value):.2f}" for key, value in SUITE_PRICES["monthly"].items()}  # type: ignore[attr-defined]
    what_if = {"currency": "EUR", "monthly": doubled, "addons": _installed_addons()}
    answer = api.client.post("/v1/moves/plans", headers=vendor, json={**body, "prices": what_if})
    assert answer.status_code == 200, answer.text
    tenant, before = answer.json()["tenants"][0], installed["tenants"][0]
    assert tenant["monthly_before"] == before["monthly_before"]
    assert float(before["monthly_after"]) > 0
    assert float(tenant["monthly_after"]) == 2 * float(before["monthly_after"])
    assert api.client.post("/v1/moves/plans", headers=vendor, json=body).json() == installed


def test_what_if_prices_missing_an_item_are_refused_naming_it(api: Api) -> None:
    vendor = api.headers("vendor")
    monthly = {key: value for key, value in SUITE_PRICES["monthly"].items() if key != "core"}  # type: ignore[attr-defined]
    prices = {"currency": "EUR", "monthly": monthly, "addons": _installed_addons()}
    answer = api.client.post("/v1/moves/plans", headers=vendor, json={"to": "suite", "prices": prices})
    assert answer.status_code == 422, answer.text
    assert "'core'" in answer.json()["detail"]
    bad = api.client.post(
        "/v1/moves/plans", headers=vendor, json={"to": "suite", "prices": {**prices, "monthly": {"core": "-1"}}}
    )
    assert bad.status_code == 422
