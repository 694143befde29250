"""Tenant isolation: no route lets a token read or change another tenant; no token, no data."""

from __future__ import annotations

from typing import Any

import pytest

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import CANARY_COMPANY, CANARY_SERIAL, Api

OPEN = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/tenants"): {"name": "stolen", "generation": "11"},
    ("PUT", "/v1/tenants/{tenant}/seats/{plan_or_license}"): {"number": 99},
    ("POST", "/v1/tenants/{tenant}/addons"): {"addon": "development-tools"},
    ("POST", "/v1/tenants/{tenant}/system-licenses"): {"license": "superoffice.sandbox"},
    ("POST", "/v1/tenants/{tenant}/owners"): {"name": "THIEF"},
    ("POST", "/v1/tenants/{tenant}/owners/{owner}/licenses"): {"module": "loot"},
    ("POST", "/v1/tenants/{tenant}/users"): {"name": "mallory"},
    ("PATCH", "/v1/tenants/{tenant}/users/{user}"): {"can_log_in": False},
    ("POST", "/v1/tenants/{tenant}/users/{user}/retire"): {},
    ("POST", "/v1/tenants/{tenant}/users/{user}/assignments"): {"licenses": ["visible-for"]},
    ("DELETE", "/v1/tenants/{tenant}/users/{user}/assignments"): {"licenses": ["user"]},
    ("POST", "/v1/tenants/{tenant}/bulk-assignments"): {"rows": [{"user": "gina", "licenses": ["visible-for"]}]},
    ("POST", "/v1/tenants/{tenant}/check"): {"users": ["gina"], "licenses": ["user"]},
    ("POST", "/v1/tokens"): {"role": "admin", "tenant": "globex"},
    ("PUT", "/api/v1/License/{moduleOwner}/{associateId}"): ["widget"],
    ("DELETE", "/api/v1/License/{moduleOwner}/{associateId}"): ["widget"],
}


def routes() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document (every route the app serves, bar docs and metrics)."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if path not in OPEN
        for method in operations
    ]


ROUTES = routes()


def victim_path(api: Api, path: str) -> str:
    """The path aimed at the other tenant (globex): its name, its user, its associate id, its token."""
    gina = str(api.user_ids["gina"])
    values = {
        "tenant": "globex",
        "user": "gina",
        "associateId": gina,
        "moduleNameOrAssociateId": gina,
        "ownerName": "GLOBEXCO",
        "moduleOwner": "GLOBEXCO",
        "owner": "GLOBEXCO",
        "plan_or_license": "user",
        "addon": "cep",
        "license_name": "superoffice.server",
        "token_id": str(api.token_ids["globex-admin"]),
        "generation": "11",
        "key": "sales-premium",
        "satelliteId": "1",
        "metric": "projects",
        "change_id": "1",
        "webhook_id": "1",
        "wave_id": "1",
        "name": "globex-plan",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def body_for(api: Api, method: str, path: str) -> Any:
    """The request body aimed at the other tenant; agent methods all get every parameter pointing at it."""
    if path.startswith("/api/v1/Agents/"):
        return {
            "AssociateId": api.user_ids["gina"],
            "ModuleOwner": "GLOBEXCO",
            "OwnerName": "GLOBEXCO",
            "ModuleName": "widget",
            "ModuleLicenseNames": ["widget"],
            "SatelliteId": 1,
            "FileContent": "{}",
        }
    return BODIES.get((method, path))


def globex_state(api: Api) -> Any:
    vendor = api.headers("vendor")
    return (
        api.client.get("/v1/tenants/globex", headers=vendor).json(),
        api.client.get("/v1/tenants/globex/users", headers=vendor).json(),
        len(api.client.get("/v1/tenants/globex/audit", headers=vendor).json()),
        [t for t in api.client.get("/v1/tokens", headers=vendor).json() if t["tenant"] == "globex"],
    )


def test_the_route_list_covers_the_own_and_the_compatibility_api() -> None:
    paths = {path for _, path in ROUTES}
    assert "/v1/tenants/{tenant}/check" in paths
    assert "/api/v1/License/User/{associateId}" in paths
    assert "/api/v1/User/currentPrincipal" in paths
    assert len(ROUTES) >= 30


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_request_without_a_token(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, victim_path(api, path), json=body_for(api, method, path))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", ["Bearer lsn_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "SOTicket x"])
def test_a_bad_token_gets_401_and_no_data(api: Api, header: str) -> None:
    response = api.client.get("/v1/tenants/acme/panel", headers={"Authorization": header})
    assert response.status_code == 401
    assert "tenant" not in response.json() or response.json().get("code") == "UNAUTHENTICATED"


@pytest.mark.parametrize("who", ["acme-admin", "acme-app"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_route_lets_a_token_of_one_tenant_reach_another(api: Api, who: str, method: str, path: str) -> None:
    before = globex_state(api)
    response = api.client.request(
        method, victim_path(api, path), json=body_for(api, method, path), headers=api.headers(who)
    )
    after = globex_state(api)
    assert after == before, f"{method} {path} changed the other tenant"
    body = response.text
    assert CANARY_COMPANY not in body, f"{method} {path} leaked: {body[:300]}"
    assert CANARY_SERIAL not in body, f"{method} {path} leaked: {body[:300]}"
    for who in ("globex-admin", "globex-app"):
        assert api.tokens[who][:10] not in body
    if response.status_code < 400:
        # Routes that are not about a tenant (catalog, own token list, own tenant list) may answer,
        # but never with the other tenant's data.
        assert "globex" not in body.lower(), f"{method} {path} leaked: {body[:300]}"
        assert "gina" not in body, f"{method} {path} leaked: {body[:300]}"
    else:
        assert response.status_code in (403, 404, 422), (method, path, response.status_code, body[:300])


def test_the_compatibility_routes_act_only_on_the_tokens_tenant(api: Api) -> None:
    gina = api.user_ids["gina"]
    alice = api.user_ids["alice"]
    acme = api.headers("acme-admin")
    assert api.client.get(f"/api/v1/License/User/{gina}", headers=acme).status_code == 404
    assert api.client.get(f"/api/v1/License/User/{alice}", headers=acme).status_code == 200
    assert api.client.get("/api/v1/License/GLOBEXCO", headers=acme).status_code == 404
    owners = api.client.get("/api/v1/License", headers=acme).json()
    assert [o["Current"]["CompanyName"] for o in owners] == ["Acme AS"]


def test_a_vendor_token_reaches_every_tenant_but_not_the_tenant_bound_compatibility_routes(api: Api) -> None:
    vendor = api.headers("vendor")
    assert api.client.get("/v1/tenants/globex/panel", headers=vendor).status_code == 200
    assert api.client.get("/v1/tenants/acme/panel", headers=vendor).status_code == 200
    response = api.client.get("/api/v1/License", headers=vendor)
    assert (response.status_code, response.json()["code"]) == (403, "NO_TENANT")


def test_an_app_token_may_read_and_check_but_not_change(api: Api) -> None:
    app = api.headers("acme-app")
    assert api.client.get("/v1/tenants/acme/users/alice/licenses", headers=app).status_code == 200
    check = api.client.post("/v1/tenants/acme/check", headers=app, json={"users": ["alice"], "licenses": ["quote-cal"]})
    assert check.status_code == 200
    change = api.client.post("/v1/tenants/acme/users/bob/assignments", headers=app, json={"plans": ["sales-essential"]})
    assert (change.status_code, change.json()["code"]) == (403, "FORBIDDEN")


def test_a_tenant_admin_manages_users_but_not_purchases(api: Api) -> None:
    admin = api.headers("acme-admin")
    seats = api.client.put("/v1/tenants/acme/seats/sales-premium", headers=admin, json={"number": 100})
    assert (seats.status_code, seats.json()["code"]) == (403, "FORBIDDEN")
    tenant = api.client.post("/v1/tenants", headers=admin, json={"name": "mine", "generation": "11"})
    assert tenant.status_code == 403


def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    vendor = api.headers("vendor")
    made = api.client.post("/v1/tokens", headers=vendor, json={"role": "app", "tenant": "acme"}).json()
    mine = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get("/v1/tenants/acme/users", headers=mine).status_code == 200
    assert api.client.delete(f"/v1/tokens/{made['info']['id']}", headers=vendor).status_code == 200
    assert api.client.get("/v1/tenants/acme/users", headers=mine).status_code == 401
