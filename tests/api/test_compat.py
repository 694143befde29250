"""SuperOffice-compatible routes: field names and shapes of the published swagger, on the token's tenant."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import Api

SWAGGER = Path(__file__).parent.parent / "data" / "superoffice-api"


def _nullable(node: Any) -> Any:
    """Swagger 2.0 has no `nullable`; SuperOffice answers null for absent values, so every property may be null."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if "properties" in node:
            node["properties"] = {
                name: ({"anyOf": [prop, {"type": "null"}]}) for name, prop in node["properties"].items()
            }
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def definitions(file: str) -> dict[str, Any]:
    document = json.loads((SWAGGER / file).read_text(encoding="utf-8"))
    return _nullable(document["definitions"])  # type: ignore[no-any-return]


@cache
def validator(file: str, definition: str, many: bool) -> jsonschema.Draft4Validator:
    ref = {"$ref": f"#/definitions/{definition}"}
    schema = {"definitions": definitions(file), **({"type": "array", "items": ref} if many else ref)}
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def conforms(document: Any, definition: str, *, file: str = "Swagger-v1-License.json", many: bool = False) -> None:
    """Valid against the swagger definition, with every documented field present and no other."""
    validator(file, definition, many).validate(document)
    documented = set(definitions(file)[definition]["properties"])
    for item in document if many else [document]:
        assert set(item) == documented, set(item) ^ documented


def test_get_license_lists_every_owner_as_extended_license_info(api: Api) -> None:
    owners = api.client.get("/api/v1/License", headers=api.headers("acme-admin")).json()
    conforms(owners, "SuperOffice.License.ExtendedLicenseInfo", many=True)
    assert [o["Current"]["OwnerName"] for o in owners] == ["SUPEROFFICE"]
    for module in owners[0]["ExtendedModuleLicenses"]:
        conforms(module, "SuperOffice.License.ExtendedModuleLicense")
        conforms(module["Current"], "SuperOffice.License.ModuleLicense")


def test_get_license_of_an_owner_gives_usage_per_module(api: Api) -> None:
    info = api.client.get("/api/v1/License/SUPEROFFICE", headers=api.headers("acme-admin")).json()
    conforms(info, "SuperOffice.License.ExtendedLicenseInfo")
    conforms(info["Current"], "SuperOffice.License.LicenseInfo")
    usage = {m["Current"]["ModuleName"]: m for m in info["ExtendedModuleLicenses"]}
    assert usage["ten-sales"]["NumberOfLicensesTotal"] == 6  # 3 Sales Premium + 3 Sales Essential
    assert usage["ten-sales"]["NumberOfLicensesInUse"] >= 1
    assert info["Current"]["CompanyName"] == "Acme AS"


def test_get_module_license_answers_the_documented_module_license_shape(api: Api) -> None:
    plan = api.client.get("/api/v1/License/SUPEROFFICE/ten-sales", headers=api.headers("acme-app")).json()
    conforms(plan, "SuperOffice.License.ModuleLicense")
    assert (plan["LicenseType"], plan["AllowedUserType"], plan["ExtraFlags"]) == ("UserLicense", "InternalAssociate", 1)
    assert plan["ExtraInfo"].startswith("set=user,web,pocket-crm-cal,selection-cal")
    server = api.client.get("/api/v1/License/superoffice/server", headers=api.headers("acme-app")).json()
    assert (server["LicenseType"], server["NumberOfLicenses"]) == ("SiteLicense", 1)
    missing = api.client.get("/api/v1/License/SUPEROFFICE/mktg-auto", headers=api.headers("acme-app"))
    assert (missing.status_code, missing.json()["code"]) == (404, "LICENSE_NOT_IN_TENANT")


def test_get_user_licenses_marks_what_the_user_holds(api: Api) -> None:
    alice = api.user_ids["alice"]
    owners = api.client.get(f"/api/v1/License/User/{alice}", headers=api.headers("acme-admin")).json()
    conforms(owners, "SuperOffice.CRM.Services.LicenseOwner", many=True)
    links = {link["Name"]: link for link in owners[0]["RestrictedModuleLicenses"]}
    for link in owners[0]["RestrictedModuleLicenses"] + owners[0]["UnrestrictedModuleLicenses"]:
        conforms(link, "SuperOffice.CRM.Services.ModuleLicenseLink")
        assert not link["IsHidden"]
    assert links["ten-sales"]["Assigned"]
    assert links["ten-sales"]["Total"] == links["ten-sales"]["InUse"] + links["ten-sales"]["Free"]
    assert "sale-cal" not in links  # hidden licenses are not listed


def test_third_party_licenses_are_assigned_and_unassigned_with_a_list_of_module_names(api: Api) -> None:
    gina = api.user_ids["gina"]
    admin = api.headers("globex-admin")
    assigned = api.client.put(f"/api/v1/License/GLOBEXCO/{gina}", headers=admin, json=["widget"]).json()
    conforms(assigned, "SuperOffice.CRM.Services.ModuleLicenseLink", many=True)
    assert {link["Name"]: link["Assigned"] for link in assigned} == {"widget": True}
    listed = api.client.get(f"/api/v1/License/GLOBEXCO/{gina}", headers=admin).json()
    assert listed == assigned
    removed = api.client.request("DELETE", f"/api/v1/License/GLOBEXCO/{gina}", headers=admin, json=["widget"]).json()
    assert {link["Name"]: link["Assigned"] for link in removed} == {"widget": False}


def test_current_principal_lists_site_and_user_licenses_with_hidden_implied_ones(api: Api) -> None:
    carrier = api.client.get("/api/v1/User/currentPrincipal", headers=api.headers("acme-app")).json()
    conforms(carrier, "SuperOffice.CRM.Services.SoPrincipalCarrier", file="Swagger-v1-User.json")
    for granted in carrier["Licenses"]:
        conforms(granted, "SuperOffice.CRM.Services.GrantedModuleLicense", file="Swagger-v1-User.json")
    licenses = {g["Name"]: g for g in carrier["Licenses"]}
    assert carrier["Associate"] == "alice"
    assert licenses["server"]["LicenseType"] == "SiteLicense"
    assert licenses["guide-cal"]["IsHidden"]
    assert licenses["ten-sales"]["ExtraFlags"] == 1
    assert licenses["ten-sales"]["ExtraInfo"].startswith("set=")
    assert "mktg-auto-cal" not in licenses  # user licenses not assigned do not appear


def test_current_principal_needs_a_token_bound_to_a_user(api: Api) -> None:
    response = api.client.get("/api/v1/User/currentPrincipal", headers=api.headers("acme-admin"))
    assert (response.status_code, response.json()["code"]) == (403, "NO_USER")


def test_a_soticket_header_works_like_a_bearer_token(api: Api) -> None:
    response = api.client.get("/api/v1/License", headers={"Authorization": f"SOTicket {api.tokens['acme-app']}"})
    assert response.status_code == 200


@pytest.mark.parametrize("prefix", ["/SuperOffice", "/Cust12345"])
def test_the_compatibility_routes_answer_under_a_configured_path_prefix(committed_api: Api, prefix: str) -> None:
    api = committed_api  # other connections must see its changes
    settings = Settings(database_url=api.database.url, compat_prefix=prefix)
    client = TestClient(create_app(settings, engine=api.database.engine))
    response = client.get(f"{prefix}/api/v1/License/SUPEROFFICE/ten-sales", headers=api.headers("acme-app"))
    assert response.status_code == 200
    assert response.json()["ModuleName"] == "ten-sales"


def test_the_superoffice_tooltip_fields_carry_the_tooltip_and_the_description_only_the_name(api: Api) -> None:
    web = api.client.get("/api/v1/License/SUPEROFFICE/web", headers=api.headers("acme-app")).json()
    assert (web["ModuleDescription"], web["ModuleTooltip"]) == ("Web login", "Allows user to log in to web client.")
    alice = api.user_ids["alice"]
    owners = api.client.get(f"/api/v1/License/User/{alice}", headers=api.headers("acme-admin")).json()
    links = {link["Name"]: link for link in owners[0]["UnrestrictedModuleLicenses"]}
    extern = links["admin-extern-user"]
    assert (extern["Description"], extern["Tooltip"]) == (
        "External user administrator",
        "Allows user to admin external user in CRM client",
    )
