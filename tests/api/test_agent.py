"""The agent form of the License API: every method, validated against SuperOffice's published swagger,
for a tenant of each generation, and the same documents as the REST form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.api.conftest import Api

SWAGGER = Path(__file__).parent.parent / "data" / "superoffice-api"
AGENT = "Swagger-v1-LicenseAgent.json"
REST = "Swagger-v1-License.json"
USER = "Swagger-v1-User.json"


def _nullable(node: Any) -> Any:
    """Swagger 2.0 has no `nullable`; SuperOffice answers null for absent values."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if "properties" in node:
            node["properties"] = {
                name: {"anyOf": [prop, {"type": "null"}]} for name, prop in node["properties"].items()
            }
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def swagger(file: str) -> dict[str, Any]:
    return json.loads((SWAGGER / file).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def validator(file: str, path: str, method: str) -> jsonschema.Draft4Validator:
    document = swagger(file)
    schema = document["paths"][path][method]["responses"]["200"]["schema"]
    return jsonschema.Draft4Validator({"definitions": _nullable(document["definitions"]), **schema})


def all_fields_present(value: Any, schema: dict[str, Any], definitions: dict[str, Any]) -> None:
    """Every documented property is present (null where Lisens has nothing), recursively; no other."""
    if "$ref" in schema:
        schema = definitions[schema["$ref"].split("/")[-1]]
    if isinstance(value, list) and "items" in schema:
        for item in value:
            all_fields_present(item, schema["items"], definitions)
    elif isinstance(value, dict) and "properties" in schema:
        assert set(value) == set(schema["properties"]), set(value) ^ set(schema["properties"])
        for name, prop in schema["properties"].items():
            if value[name] is not None:
                all_fields_present(value[name], prop, definitions)


def conforms(file: str, path: str, method: str, document: Any) -> None:
    validator(file, path, method).validate(document)
    spec = swagger(file)
    all_fields_present(document, spec["paths"][path][method]["responses"]["200"]["schema"], spec["definitions"])


@dataclass
class Tenant:
    name: str
    generation: str
    admin: dict[str, str]
    app: dict[str, str]
    associate: int
    owner: str
    module: str


def tenant_of_generation(api: Api, generation: str) -> Tenant:
    """A tenant of the generation with a user holding something, tokens, and a partner owner."""
    vendor = api.headers("vendor")
    name = f"gen{generation}"
    if api.client.get(f"/v1/tenants/{name}", headers=vendor).status_code == 404:
        api.client.post(
            "/v1/tenants",
            headers=vendor,
            json={
                "name": name,
                "generation": generation,
                "company": f"Company {generation}",
                "serial": f"S{generation}",
            },
        )
        item = {"7": "user", "9": "sales", "11": "sales-premium"}[generation]
        api.client.put(f"/v1/tenants/{name}/seats/{item}", headers=vendor, json={"number": 3})
        api.client.post(f"/v1/tenants/{name}/owners", headers=vendor, json={"name": "PARTNER"})
        api.client.post(
            f"/v1/tenants/{name}/owners/PARTNER/licenses",
            headers=vendor,
            json={"module": "addin", "unrestricted": True},
        )
        api.client.post(f"/v1/tenants/{name}/users", headers=vendor, json={"name": "uma"})
        body = {"licenses": ["user"]} if generation == "7" else {"plans": [item]}
        assert (
            api.client.post(f"/v1/tenants/{name}/users/uma/assignments", headers=vendor, json=body).status_code == 200
        )
    admin = api.client.post("/v1/tokens", headers=vendor, json={"role": "admin", "tenant": name}).json()["token"]
    app = api.client.post("/v1/tokens", headers=vendor, json={"role": "app", "tenant": name, "user": "uma"}).json()[
        "token"
    ]
    associate = api.client.get(f"/v1/tenants/{name}/users/uma", headers=vendor).json()["id"]
    module = {"7": "user", "9": "superlicense-sales-pro", "11": "ten-sales"}[generation]
    return Tenant(
        name,
        generation,
        {"Authorization": f"Bearer {admin}"},
        {"Authorization": f"Bearer {app}"},
        associate,
        "PARTNER",
        module,
    )


@pytest.fixture(params=["7", "9", "11"])
def tenant(api: Api, request: pytest.FixtureRequest) -> Tenant:
    return tenant_of_generation(api, request.param)


def agent_calls(tenant: Tenant, package: str) -> Iterator[tuple[str, Any]]:
    """(method, body) for every method of the agent swagger."""
    yield "GetLicenseForAllOwnersFromDB", None
    yield "GetLicenseFromDB", {"ownerName": "SUPEROFFICE"}
    yield "GetModuleLicenseFromDB", {"ownerName": "SUPEROFFICE", "moduleName": tenant.module}
    yield "GetUserLicenses", {"associateId": tenant.associate}
    yield "GetSatelliteLicenses", {"satelliteId": 1}
    yield "GetThirdPartyLicenseAssignments", {"associateId": tenant.associate, "moduleOwner": tenant.owner}
    yield (
        "AssignThirdPartyLicenses",
        {"associateId": tenant.associate, "moduleOwner": tenant.owner, "moduleLicenseNames": ["addin"]},
    )
    yield (
        "UnassignThirdPartyLicenses",
        {"AssociateId": tenant.associate, "ModuleOwner": tenant.owner, "ModuleLicenseNames": ["addin"]},
    )
    yield "GetUserAndInstallationLicenceStatus", {"associateId": tenant.associate}
    yield "GetUserLicensesMDOList", None
    yield "RemoveLicenseFromDB", {"moduleOwner": "SUPEROFFICE"}
    yield "GetLicenseFromFile", {"fileContent": package}
    yield "AddLicenseFromFile", {"fileContent": package}
    yield "GetLicenseFromLicenseServer", {"ownerName": "SUPEROFFICE"}
    yield "GetModuleLicenseHistoryFromLicenseServer", {"licenseInfo": None, "moduleLicense": None}
    yield "GetLicenseStatusFromLicenseServer", {"ownerName": "SUPEROFFICE"}
    yield "ChangeSerialNumber", {"newCompanyName": "X", "newSerialNumber": "1"}
    yield "GetShopUrl", {"ownerName": "SUPEROFFICE"}
    yield "GetCentralLicense", None
    yield "SaveCentralLicense", {"license": []}
    yield "GetFencingInfo", None


def test_the_calls_cover_every_method_of_the_agent_swagger() -> None:
    documented = {path.rsplit("/", 1)[1] for path in swagger(AGENT)["paths"]}
    called = {method for method, _ in agent_calls(Tenant("t", "11", {}, {}, 1, "P", "m"), "{}")}
    assert called | {"ValidateLicenseInfo", "ActivateLicenseInfo"} == documented


def test_every_agent_method_answers_the_documented_shape(api: Api, tenant: Tenant) -> None:
    package = json.dumps(api.client.post(f"/v1/tenants/{tenant.name}/packages", headers=api.headers("vendor")).json())
    for method, body in agent_calls(tenant, package):
        response = api.client.post(f"/api/v1/Agents/License/{method}", headers=tenant.admin, json=body)
        assert response.status_code == 200, (method, response.text[:300])
        conforms(AGENT, f"/api/v1/Agents/License/{method}", "post", response.json())


def test_validate_and_activate_license_info_round_trip_through_get_license_from_file(api: Api, tenant: Tenant) -> None:
    package = json.dumps(api.client.post(f"/v1/tenants/{tenant.name}/packages", headers=api.headers("vendor")).json())
    extended = api.client.post(
        "/api/v1/Agents/License/GetLicenseFromFile", headers=tenant.admin, json={"FileContent": package}
    ).json()
    assert extended["CanBeActivated"]
    valid = api.client.post(
        "/api/v1/Agents/License/ValidateLicenseInfo", headers=tenant.admin, json={"licenseInfo": extended}
    )
    conforms(AGENT, "/api/v1/Agents/License/ValidateLicenseInfo", "post", valid.json())
    assert valid.json()["Succeeded"]
    done = api.client.post(
        "/api/v1/Agents/License/ActivateLicenseInfo", headers=tenant.admin, json={"newLicense": extended}
    )
    conforms(AGENT, "/api/v1/Agents/License/ActivateLicenseInfo", "post", done.json())
    assert done.json() == {"Succeeded": True, "Reason": "activated", "TableRight": None, "FieldProperties": {}}
    extended["New"]["Signature"] = "bm90IGEgcGFja2FnZQ=="
    refused = api.client.post(
        "/api/v1/Agents/License/ValidateLicenseInfo", headers=tenant.admin, json={"licenseInfo": extended}
    ).json()
    assert not refused["Succeeded"]
    assert refused["Reason"].startswith("PACKAGE_MALFORMED")


def test_the_rest_routes_answer_the_documented_shapes(api: Api, tenant: Tenant) -> None:
    checks = [
        ("/api/v1/License", "/api/v1/License", "get", None),
        ("/api/v1/License/SUPEROFFICE", "/api/v1/License/{ownerName}", "get", None),
        (f"/api/v1/License/SUPEROFFICE/{tenant.module}", "/api/v1/License/{ownerName}/{moduleName}", "get", None),
        (f"/api/v1/License/User/{tenant.associate}", "/api/v1/License/User/{associateId}", "get", None),
        ("/api/v1/License/User/MdoList", "/api/v1/License/User/MdoList", "get", None),
        ("/api/v1/License/Site/1", "/api/v1/License/Site/{satelliteId}", "get", None),
        (
            f"/api/v1/License/{tenant.owner}/{tenant.associate}",
            "/api/v1/License/{moduleOwner}/{associateId}",
            "get",
            None,
        ),
        (
            f"/api/v1/License/{tenant.owner}/{tenant.associate}",
            "/api/v1/License/{moduleOwner}/{associateId}",
            "put",
            ["addin"],
        ),
        (
            f"/api/v1/License/{tenant.owner}/{tenant.associate}",
            "/api/v1/License/{moduleOwner}/{associateId}",
            "delete",
            ["addin"],
        ),
        ("/api/v1/License/PARTNER", "/api/v1/License/{moduleOwner}", "delete", None),
        ("/api/v1/License/SUPEROFFICE/ShopUrl", "/api/v1/License/{ownerName}/ShopUrl", "get", None),
        (
            "/api/v1/License/ChangeSerialNumber?newCompanyName=X&newSerialNumber=1",
            "/api/v1/License/ChangeSerialNumber",
            "post",
            None,
        ),
    ]
    for url, path, method, body in checks:
        response = api.client.request(method.upper(), url, headers=tenant.admin, json=body)
        assert response.status_code == 200, (url, response.text[:300])
        conforms(REST, path, method, response.json())
    principal = api.client.get("/api/v1/User/currentPrincipal", headers=tenant.app).json()
    conforms(USER, "/api/v1/User/currentPrincipal", "get", principal)


def test_the_agent_and_rest_forms_return_the_same_documents(api: Api, tenant: Tenant) -> None:
    def agent(method: str, body: Any = None) -> Any:
        return api.client.post(f"/api/v1/Agents/License/{method}", headers=tenant.admin, json=body).json()

    def rest(url: str) -> Any:
        return api.client.get(url, headers=tenant.admin).json()

    assert agent("GetLicenseForAllOwnersFromDB") == rest("/api/v1/License")
    assert agent("GetLicenseFromDB", {"OwnerName": "SUPEROFFICE"}) == rest("/api/v1/License/SUPEROFFICE")
    assert agent("GetModuleLicenseFromDB", {"ownerName": "superoffice", "moduleName": tenant.module}) == rest(
        f"/api/v1/License/SUPEROFFICE/{tenant.module}"
    )
    assert agent("GetUserLicenses", {"associateId": tenant.associate}) == rest(
        f"/api/v1/License/User/{tenant.associate}"
    )
    assert agent("GetUserLicensesMDOList") == rest("/api/v1/License/User/MdoList")
    assert agent(
        "GetThirdPartyLicenseAssignments", {"associateId": tenant.associate, "moduleOwner": tenant.owner}
    ) == rest(f"/api/v1/License/{tenant.owner}/{tenant.associate}")


def test_parameter_names_are_matched_case_insensitively(api: Api, tenant: Tenant) -> None:
    answers = [
        api.client.post(
            "/api/v1/Agents/License/GetLicenseFromDB", headers=tenant.admin, json={key: "SUPEROFFICE"}
        ).json()
        for key in ("OwnerName", "ownerName", "ownername", "OWNERNAME")
    ]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["Current"]["OwnerName"] == "SUPEROFFICE"


def test_enums_are_names_and_dates_iso_8601(api: Api, tenant: Tenant) -> None:
    module = api.client.post(
        "/api/v1/Agents/License/GetModuleLicenseFromDB",
        headers=tenant.admin,
        json={"ownerName": "SUPEROFFICE", "moduleName": tenant.module},
    ).json()
    assert (module["LicenseType"], module["AllowedUserType"]) == ("UserLicense", "InternalAssociate")
    principal = api.client.get("/api/v1/User/currentPrincipal", headers=tenant.app).json()
    assert principal["UserType"] == "InternalAssociate"


def test_a_missing_or_mistyped_parameter_is_a_4xx_naming_it(api: Api, tenant: Tenant) -> None:
    response = api.client.post(
        "/api/v1/Agents/License/GetUserLicenses", headers=tenant.admin, json={"associateId": "seven"}
    )
    assert (response.status_code, response.json()["parameter"]) == (422, "AssociateId")
    response = api.client.post("/api/v1/Agents/License/GetLicenseFromDB", headers=tenant.admin, json={})
    assert (response.status_code, response.json()["parameter"]) == (422, "OwnerName")


def test_the_agent_routes_answer_under_the_configured_prefix_with_an_soticket(committed_api: Api) -> None:
    api = committed_api  # other connections must see its changes
    from fastapi.testclient import TestClient

    from lisens.api.app import create_app
    from lisens.settings import Settings

    client = TestClient(
        create_app(Settings(database_url=api.database.url, compat_prefix="/SuperOffice"), engine=api.database.engine)
    )
    response = client.post(
        "/SuperOffice/api/v1/Agents/License/GetLicenseFromDB",
        headers={"Authorization": f"SOTicket {api.tokens['acme-admin']}"},
        json={"ownerName": "SUPEROFFICE"},
    )
    assert response.status_code == 200
    assert response.json()["Current"]["CompanyName"] == "Acme AS"
