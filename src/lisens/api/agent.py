"""SuperOffice's LicenseAgent: `POST /api/v1/Agents/License/<Method>` with the parameters in a JSON body.

What SuperOffice's client libraries call. Parameter names are matched case-insensitively (clients
send camelCase); answers are the swagger's carriers. Every method shares its implementation with the
REST form (`lisens.service.superoffice`, `lisens.service.packages`). A method that means nothing
in Lisens answers its documented type with a reason, never 404 or 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from lisens.api.compat import manager_tenant, token_tenant
from lisens.api.deps import Auth, unit_of_work, verifying_key
from lisens.api.v1 import PROBLEMS
from lisens.domain.errors import Code, InvalidInput
from lisens.packages import parse_package
from lisens.service import packages, superoffice
from lisens.service import superoffice_carriers as so
from lisens.service.fencing import fencing_info

router = APIRouter(prefix="/api/v1/Agents/License", tags=["superoffice-agent"], responses=PROBLEMS)

Params = Annotated[dict[str, Any] | None, Body(description="The method's parameters, names case-insensitive")]
NO_SERVER = "Lisens is the license server: the license stored here is the newest."


class _Params:
    """A request body looked up case-insensitively, with clear errors for missing or mistyped values."""

    def __init__(self, body: Mapping[str, Any] | None) -> None:
        self._values = {str(k).lower(): v for k, v in (body or {}).items()}

    def text(self, name: str) -> str:
        value = self._values.get(name.lower())
        if not isinstance(value, str) or not value:
            raise InvalidInput(
                f"parameter {name} must be a non-empty string", code=Code.INVALID_REQUEST, parameter=name
            )
        return value

    def integer(self, name: str) -> int:
        value = self._values.get(name.lower())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise InvalidInput(
                f"parameter {name} must be a positive integer", code=Code.INVALID_REQUEST, parameter=name
            )
        return value

    def names(self, name: str) -> list[str]:
        value = self._values.get(name.lower())
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 500:
            raise InvalidInput(f"parameter {name} must be a list of strings", code=Code.INVALID_REQUEST, parameter=name)
        return value

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self._values.get(name.lower())
        if not isinstance(value, Mapping):
            raise InvalidInput(f"parameter {name} must be an object", code=Code.INVALID_REQUEST, parameter=name)
        return value


@router.post("/GetLicenseForAllOwnersFromDB", response_model=list[so.ExtendedLicenseInfo])
def get_license_for_all_owners_from_db(request: Request, principal: Auth) -> list[so.ExtendedLicenseInfo]:
    """GetLicenseForAllOwnersFromDB: the license of every owner of the token's tenant, with numbers in use."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.all_owners(ctx, token_tenant(principal))


@router.post("/GetLicenseFromDB", response_model=so.ExtendedLicenseInfo)
def get_license_from_db(request: Request, principal: Auth, body: Params = None) -> so.ExtendedLicenseInfo:
    """GetLicenseFromDB: one owner's license (`ownerName`), with its module licenses and numbers in use."""
    owner = _Params(body).text("OwnerName")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.extended_license_info(ctx, token_tenant(principal), owner)


@router.post("/GetModuleLicenseFromDB", response_model=so.ModuleLicense)
def get_module_license_from_db(request: Request, principal: Auth, body: Params = None) -> so.ModuleLicense:
    """GetModuleLicenseFromDB: one module license (`ownerName`, `moduleName`) of the token's tenant."""
    params = _Params(body)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.module_license_of(
            ctx, token_tenant(principal), params.text("OwnerName"), params.text("ModuleName")
        )


@router.post("/GetUserLicenses", response_model=list[so.LicenseOwner])
def get_user_licenses(request: Request, principal: Auth, body: Params = None) -> list[so.LicenseOwner]:
    """GetUserLicenses: every owner's assignable user licenses, with `Assigned` for the associate (`associateId`)."""
    associate = _Params(body).integer("AssociateId")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_license_owners(ctx, token_tenant(principal), associate)


@router.post("/GetSatelliteLicenses", response_model=list[so.LicenseOwner])
def get_satellite_licenses(request: Request, principal: Auth, body: Params = None) -> list[so.LicenseOwner]:
    """Lisens has no satellite databases: no satellite holds licenses."""
    _Params(body).integer("SatelliteId")
    token_tenant(principal)
    return []


@router.post("/GetThirdPartyLicenseAssignments", response_model=list[so.ModuleLicenseLink])
def get_third_party_license_assignments(
    request: Request, principal: Auth, body: Params = None
) -> list[so.ModuleLicenseLink]:
    """GetThirdPartyLicenseAssignments: one owner's user licenses and whether the associate holds each."""
    params = _Params(body)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.owner_assignments(
            ctx, token_tenant(principal), params.text("ModuleOwner"), params.integer("AssociateId")
        )


@router.post("/AssignThirdPartyLicenses", response_model=list[so.ModuleLicenseLink])
def assign_third_party_licenses(request: Request, principal: Auth, body: Params = None) -> list[so.ModuleLicenseLink]:
    """AssignThirdPartyLicenses: assign module licenses of one owner to an associate, all or none."""
    params = _Params(body)
    with unit_of_work(request, principal.actor) as ctx:
        return superoffice.change_owner_assignments(
            ctx,
            manager_tenant(principal),
            params.text("ModuleOwner"),
            params.integer("AssociateId"),
            params.names("ModuleLicenseNames"),
            remove=False,
        )


@router.post("/UnassignThirdPartyLicenses", response_model=list[so.ModuleLicenseLink])
def unassign_third_party_licenses(request: Request, principal: Auth, body: Params = None) -> list[so.ModuleLicenseLink]:
    """UnassignThirdPartyLicenses: take module licenses of one owner from an associate, all or none."""
    params = _Params(body)
    with unit_of_work(request, principal.actor) as ctx:
        return superoffice.change_owner_assignments(
            ctx,
            manager_tenant(principal),
            params.text("ModuleOwner"),
            params.integer("AssociateId"),
            params.names("ModuleLicenseNames"),
            remove=True,
        )


@router.post("/GetUserAndInstallationLicenceStatus", response_model=so.UserAndInstallationLicenceStatus)
def get_user_and_installation_licence_status(
    request: Request, principal: Auth, body: Params = None
) -> so.UserAndInstallationLicenceStatus:
    """GetUserAndInstallationLicenceStatus: the tenant's license dates and the module licenses the
    associate holds now."""
    associate = _Params(body).integer("AssociateId")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_and_installation_status(ctx, token_tenant(principal), associate)


@router.post("/GetUserLicensesMDOList", response_model=list[so.SelectableMDOListItem])
def get_user_licenses_mdo_list(request: Request, principal: Auth) -> list[so.SelectableMDOListItem]:
    """GetUserLicensesMDOList: the assignable user licenses as list items."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_licenses_mdo_list(ctx, token_tenant(principal))


@router.post("/RemoveLicenseFromDB", response_model=so.LicenseResult)
def remove_license_from_db(request: Request, principal: Auth, body: Params = None) -> so.LicenseResult:
    """RemoveLicenseFromDB: refused with a reason; the vendor manages license owners in Lisens."""
    owner = _Params(body).text("ModuleOwner")
    manager_tenant(principal)
    if owner.upper() == "SUPEROFFICE":
        return superoffice.license_result(False, "It is not permitted to remove licenses from SuperOffice")
    return superoffice.license_result(False, "Lisens does not remove a license owner; ask the vendor")


@router.post("/GetLicenseFromFile", response_model=so.ExtendedLicenseInfo)
def get_license_from_file(request: Request, principal: Auth, body: Params = None) -> so.ExtendedLicenseInfo:
    """GetLicenseFromFile: a signed package read and verified, beside the current license with what
    activation would change; nothing is stored."""
    content = _Params(body).text("FileContent")
    key = verifying_key(request)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return packages.license_from_file(ctx, token_tenant(principal), content, key)


@router.post("/AddLicenseFromFile", response_model=so.ExtendedLicenseInfo)
def add_license_from_file(request: Request, principal: Auth, body: Params = None) -> so.ExtendedLicenseInfo:
    """AddLicenseFromFile: verify a signed package and activate it; an older package than the active one is refused."""
    content = _Params(body).text("FileContent")
    tenant = manager_tenant(principal)
    key = verifying_key(request)
    with unit_of_work(request, principal.actor) as ctx:
        packages.activate_package(ctx, tenant, parse_package(content), key)
        return superoffice.extended_license_info(ctx, tenant, "SUPEROFFICE")


@router.post("/ValidateLicenseInfo", response_model=so.LicenseResult)
def validate_license_info(request: Request, principal: Auth, body: Params = None) -> so.LicenseResult:
    """ValidateLicenseInfo: could the license that GetLicenseFromFile returned be activated here?"""
    extended = _Params(body).mapping("LicenseInfo")
    key = verifying_key(request)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        ok, reason = packages.validate_license_info(ctx, token_tenant(principal), extended, key)
        ctx.session.rollback()  # validation is a dry run
    return superoffice.license_result(ok, reason)


@router.post("/ActivateLicenseInfo", response_model=so.LicenseResult)
def activate_license_info(request: Request, principal: Auth, body: Params = None) -> so.LicenseResult:
    """ActivateLicenseInfo: activate the license that GetLicenseFromFile returned."""
    extended = _Params(body).mapping("NewLicense")
    tenant = manager_tenant(principal)
    key = verifying_key(request)
    with unit_of_work(request, principal.actor) as ctx:
        ok, reason = packages.activate_license_info(ctx, tenant, extended, key)
    return superoffice.license_result(ok, reason)


@router.post("/GetLicenseFromLicenseServer", response_model=so.ExtendedLicenseInfo)
def get_license_from_license_server(request: Request, principal: Auth, body: Params = None) -> so.ExtendedLicenseInfo:
    """GetLicenseFromLicenseServer: Lisens is the license server, so the stored license is the newest."""
    owner = _Params(body).text("OwnerName")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        info = superoffice.extended_license_info(ctx, token_tenant(principal), owner)
    return info.model_copy(update={"Reason": NO_SERVER})


@router.post("/GetModuleLicenseHistoryFromLicenseServer", response_model=str)
def get_module_license_history_from_license_server(request: Request, principal: Auth, body: Params = None) -> str:
    """GetModuleLicenseHistoryFromLicenseServer: where the history is (the tenant's audit log)."""
    token_tenant(principal)
    return "Lisens keeps the history of every license change in its audit log (GET /v1/tenants/{tenant}/audit)."


@router.post("/GetLicenseStatusFromLicenseServer", response_model=so.CheckLicenseStatusResult)
def get_license_status_from_license_server(
    request: Request, principal: Auth, body: Params = None
) -> so.CheckLicenseStatusResult:
    """GetLicenseStatusFromLicenseServer: Ok, or ProblemWithLicense before the term starts, in grace and after it."""
    _Params(body).text("OwnerName")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.license_status_result(ctx, token_tenant(principal))


@router.post("/ChangeSerialNumber", response_model=so.LicenseResult)
def change_serial_number(request: Request, principal: Auth, body: Params = None) -> so.LicenseResult:
    """ChangeSerialNumber: the serial number is the vendor's; refused here with a reason."""
    manager_tenant(principal)
    return superoffice.license_result(False, "company name and serial number are set by the vendor in Lisens")


@router.post("/GetShopUrl", response_model=str)
def get_shop_url(request: Request, principal: Auth, body: Params = None) -> str:
    """GetShopUrl: where to buy more licenses (the `shop_url` setting)."""
    token_tenant(principal)
    return str(request.app.state.settings.shop_url or "")


@router.post("/GetCentralLicense", response_model=list[so.LicenseOwner])
def get_central_license(request: Request, principal: Auth) -> list[so.LicenseOwner]:
    """GetCentralLicense: the license of every owner, as the central license view shows it."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_license_owners(ctx, token_tenant(principal), None)


@router.post("/SaveCentralLicense", response_model=list[so.LicenseOwner])
def save_central_license(request: Request, principal: Auth, body: Params = None) -> list[so.LicenseOwner]:
    """Licenses change through seats and packages in Lisens; the central license is answered unchanged."""
    manager_tenant(principal)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_license_owners(ctx, token_tenant(principal), None)


@router.post("/GetFencingInfo", response_model=so.FencingInfo)
def get_fencing_info(request: Request, principal: Auth) -> so.FencingInfo:
    """GetFencingInfo: the most constrained plan limit of a CRM Suite tenant (dashboards, projects, …)."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return fencing_info(ctx, token_tenant(principal))
