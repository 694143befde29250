"""Typed answers: every success answer has a schema in the OpenAPI document, and a create answers with what it
created, with the id later requests take."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import Api

FUTURE = "2999-01-01T00:00:00Z"


def _openapi() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite://")).openapi()


def _named(schema: dict[str, Any]) -> bool:
    """A named model: a `$ref`, a list of them, or one of them or null."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return all(_named(o) or o == {"type": "null"} for o in options)
    return False


def test_every_success_answer_in_the_openapi_document_has_a_schema() -> None:
    untyped = []
    for path, operations in _openapi()["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                contents = answer.get("content") or {"(none)": {}}
                for media, content in contents.items():
                    schema = content.get("schema") or {}
                    typed = "$ref" in schema or "anyOf" in schema or "items" in schema or "properties" in schema
                    typed = typed or schema.get("type") in ("string", "integer", "boolean", "number")
                    typed = typed or isinstance(schema.get("additionalProperties"), dict)
                    if not typed:
                        untyped.append(f"{method.upper()} {path} {status} {media}: {schema}")
    assert untyped == []


def test_every_v1_json_answer_is_a_named_model() -> None:
    unnamed = []
    for path, operations in _openapi()["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and not _named(schema):
                    unnamed.append(f"{method.upper()} {path} {status}: {schema}")
    assert unnamed == []


def as_written(answer: httpx.Response) -> dict[str, Any]:
    """A change's answer without the version it adds (the same as its `Lisens-Version` header)."""
    body: dict[str, Any] = dict(answer.json())
    assert body.pop("version") == int(answer.headers["Lisens-Version"])
    return body


def test_a_created_tenant_comes_back_as_showing_it_does(api: Api) -> None:
    vendor = api.headers("vendor")
    created = api.client.post("/v1/tenants", headers=vendor, json={"name": "typed-t", "generation": "11"})
    assert created.status_code == 201
    assert created.json()["name"] == "typed-t"
    assert as_written(created) == api.client.get("/v1/tenants/typed-t", headers=vendor).json()


def test_a_created_user_comes_back_with_the_associate_id_the_superoffice_routes_take(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "typed-u", "generation": "11"})
    created = api.client.post("/v1/tenants/typed-u/users", headers=vendor, json={"name": "uma"})
    assert created.status_code == 201
    user = created.json()
    assert (user["user"], user["plan"], user["licenses"], user["retired"]) == ("uma", None, [], False)
    assert user["id"] == api.client.get("/v1/tenants/typed-u/users/uma", headers=vendor).json()["id"]
    token = api.client.post("/v1/tokens", headers=vendor, json={"role": "admin", "tenant": "typed-u"}).json()["token"]
    admin = {"Authorization": f"Bearer {token}"}
    owners = api.client.get(f"/api/v1/License/User/{user['id']}", headers=admin)
    assert owners.status_code == 200
    assert owners.json()[0]["Name"] == "SUPEROFFICE"


def test_a_user_the_vendor_dates_in_the_future_comes_back_as_the_scheduled_change(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "typed-s", "generation": "11"})
    created = api.client.post("/v1/tenants/typed-s/users", headers=vendor, json={"name": "later", "at": FUTURE})
    assert created.status_code == 201
    change = created.json()["scheduled"]
    assert (change["operation"], change["state"], change["params"]["name"]) == ("users.add_user", "pending", "later")
    listed = api.client.get("/v1/tenants/typed-s/scheduled", headers=vendor).json()
    assert [c["id"] for c in listed] == [change["id"]]


def test_a_created_token_comes_back_with_the_id_that_revokes_it(api: Api) -> None:
    vendor = api.headers("vendor")
    created = api.client.post("/v1/tokens", headers=vendor, json={"role": "app", "tenant": "acme", "user": "bob"})
    assert created.status_code == 201
    info = created.json()["info"]
    assert (info["role"], info["tenant"], info["user"], info["revoked_at"]) == ("app", "acme", "bob", None)
    assert created.json()["token"].startswith(info["prefix"])
    revoked = api.client.delete(f"/v1/tokens/{info['id']}", headers=vendor).json()
    assert revoked["id"] == info["id"]
    assert revoked["revoked_at"] is not None


def test_a_created_subscription_comes_back_as_showing_it_does(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "typed-b", "generation": "11"})
    api.client.put("/v1/tenants/typed-b/seats/sales-premium", headers=vendor, json={"number": 1})
    created = api.client.post(
        "/v1/tenants/typed-b/subscription", headers=vendor, json={"start": "2026-01-01", "period": 12}
    )
    assert created.status_code == 201
    assert (created.json()["tenant"], created.json()["start"], created.json()["billing_period"]) == (
        "typed-b",
        "2026-01-01",
        12,
    )
    shown = api.client.get("/v1/tenants/typed-b/subscription", headers=vendor).json()
    assert as_written(created) == shown


def test_an_issued_package_comes_back_with_its_sequence_number_and_activates(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "typed-p", "generation": "11"})
    first = api.client.post("/v1/tenants/typed-p/packages", headers=vendor)
    second = api.client.post("/v1/tenants/typed-p/packages", headers=vendor)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["sequence"], second.json()["sequence"]) == (1, 2)
    assert second.json()["tenant"] == "typed-p"
    activated = api.client.post(
        "/v1/tenants/typed-p/packages/activate", headers=vendor, json={"package": second.json()}
    )
    assert (activated.json()["sequence"], activated.json()["activated"]) == (2, True)
