"""Routes shaped like SuperOffice's `/api/v1/License` and `currentPrincipal`; they act on the token's tenant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request

from lisens.api.deps import Auth, unit_of_work, verifying_key
from lisens.api.problems import ApiError
from lisens.api.v1 import PROBLEMS
from lisens.domain.errors import Code
from lisens.packages import parse_package
from lisens.service import superoffice
from lisens.service import superoffice_carriers as so
from lisens.service.packages import activate_package
from lisens.service.tokens import Principal

router = APIRouter(prefix="/api/v1", tags=["superoffice"], responses=PROBLEMS)

AssociateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ModuleNames = Annotated[list[Annotated[str, Body(max_length=239)]], Body(max_length=500)]


def token_tenant(principal: Principal) -> str:
    if principal.tenant is None:
        raise ApiError("the SuperOffice routes act on the token's tenant; a vendor token has none", code=Code.NO_TENANT)
    return principal.tenant


def manager_tenant(principal: Principal) -> str:
    tenant = token_tenant(principal)
    if principal.role == "app":
        raise ApiError("an app token may only read and check licenses", code=Code.FORBIDDEN)
    return tenant


@router.get("/License", response_model=list[so.ExtendedLicenseInfo])
def get_license_for_all_owners(request: Request, principal: Auth) -> list[so.ExtendedLicenseInfo]:
    """GetLicenseForAllOwnersFromDB: every owner's license, with usage."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.all_owners(ctx, token_tenant(principal))


@router.post("/License", response_model=so.ExtendedLicenseInfo)
def add_license_from_file(
    request: Request,
    principal: Auth,
    fileContent: Annotated[str, Body(max_length=5_000_000, description="A signed license package (JSON text)")],  # noqa: N803
) -> so.ExtendedLicenseInfo:
    """AddLicenseFromFile: verify a signed package and activate it for the token's tenant."""
    tenant = manager_tenant(principal)
    document = parse_package(fileContent)
    key = verifying_key(request)
    with unit_of_work(request, principal.actor) as ctx:
        activate_package(ctx, tenant, document, key)
        return superoffice.extended_license_info(ctx, tenant, "SUPEROFFICE")


@router.get("/License/User/MdoList", response_model=list[so.SelectableMDOListItem])
def get_user_licenses_mdo_list(request: Request, principal: Auth) -> list[so.SelectableMDOListItem]:
    """GetUserLicensesMDOList: the assignable user licenses as MDO list items."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_licenses_mdo_list(ctx, token_tenant(principal))


@router.get("/License/Site/{satelliteId}", response_model=list[so.LicenseOwner])
def get_satellite_licenses(request: Request, principal: Auth, satelliteId: AssociateId) -> list[so.LicenseOwner]:  # noqa: N803
    """GetSatelliteLicenses: Lisens has no satellite databases."""
    token_tenant(principal)
    return []


@router.post("/License/ChangeSerialNumber", response_model=so.LicenseResult)
def change_serial_number(
    request: Request,
    principal: Auth,
    newCompanyName: str | None = None,  # noqa: N803
    newSerialNumber: str | None = None,  # noqa: N803
) -> so.LicenseResult:
    """ChangeSerialNumber: company name and serial number are the vendor's to set."""
    manager_tenant(principal)
    return superoffice.license_result(False, "company name and serial number are set by the vendor in Lisens")


@router.delete("/License/{moduleOwner}", response_model=so.LicenseResult)
def remove_license_from_db(request: Request, principal: Auth, moduleOwner: str) -> so.LicenseResult:  # noqa: N803
    """RemoveLicenseFromDB: never for SUPEROFFICE; Lisens removes no owner."""
    manager_tenant(principal)
    if moduleOwner.upper() == "SUPEROFFICE":
        return superoffice.license_result(False, "It is not permitted to remove licenses from SuperOffice")
    return superoffice.license_result(False, "Lisens does not remove a license owner; ask the vendor")


@router.get("/License/User/{associateId}", response_model=list[so.LicenseOwner])
def get_user_licenses(request: Request, principal: Auth, associateId: AssociateId) -> list[so.LicenseOwner]:  # noqa: N803
    """GetUserLicenses: the user licenses of every owner, with Assigned / InUse / Total."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.user_license_owners(ctx, token_tenant(principal), associateId)


@router.get("/License/{ownerName}", response_model=so.ExtendedLicenseInfo)
def get_license(request: Request, principal: Auth, ownerName: str) -> so.ExtendedLicenseInfo:  # noqa: N803
    """GetLicenseFromDB: one owner's license, with usage."""
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.extended_license_info(ctx, token_tenant(principal), ownerName)


@router.get(
    "/License/{ownerName}/{moduleNameOrAssociateId}",
    response_model=so.ModuleLicense | list[so.ModuleLicenseLink] | str,
)
def get_module_license_or_assignments(
    request: Request,
    principal: Auth,
    ownerName: str,  # noqa: N803
    moduleNameOrAssociateId: str,  # noqa: N803
) -> Any:
    """GetModuleLicenseFromDB (a module name), GetThirdPartyLicenseAssignments (an associate id) or
    GetShopUrl (`ShopUrl`): SuperOffice publishes all three on this path shape.
    """
    tenant = token_tenant(principal)
    if moduleNameOrAssociateId == "ShopUrl":
        return str(request.app.state.settings.shop_url or "")
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        if moduleNameOrAssociateId.isdigit() and len(moduleNameOrAssociateId) <= 9:
            return superoffice.owner_assignments(ctx, tenant, ownerName, int(moduleNameOrAssociateId))
        return superoffice.module_license_of(ctx, tenant, ownerName, moduleNameOrAssociateId)


@router.put("/License/{moduleOwner}/{associateId}", response_model=list[so.ModuleLicenseLink])
def assign_third_party_licenses(
    request: Request,
    principal: Auth,
    moduleOwner: str,  # noqa: N803
    associateId: AssociateId,  # noqa: N803
    moduleLicenseNames: ModuleNames,  # noqa: N803
) -> list[so.ModuleLicenseLink]:
    """AssignThirdPartyLicenses: assign module licenses of one owner to an associate."""
    with unit_of_work(request, principal.actor) as ctx:
        return superoffice.change_owner_assignments(
            ctx,
            manager_tenant(principal),
            moduleOwner,
            associateId,
            moduleLicenseNames,
            remove=False,
        )


@router.delete("/License/{moduleOwner}/{associateId}", response_model=list[so.ModuleLicenseLink])
def unassign_third_party_licenses(
    request: Request,
    principal: Auth,
    moduleOwner: str,  # noqa: N803
    associateId: AssociateId,  # noqa: N803
    moduleLicenseNames: ModuleNames,  # noqa: N803
) -> list[so.ModuleLicenseLink]:
    """UnassignThirdPartyLicenses: remove module licenses of one owner from an associate."""
    with unit_of_work(request, principal.actor) as ctx:
        return superoffice.change_owner_assignments(
            ctx,
            manager_tenant(principal),
            moduleOwner,
            associateId,
            moduleLicenseNames,
            remove=True,
        )


@router.get("/User/currentPrincipal", response_model=so.SoPrincipalCarrier)
def current_principal(request: Request, principal: Auth) -> so.SoPrincipalCarrier:
    """The token's user with every license granted to the site and the user (hidden implied ones too)."""
    tenant = token_tenant(principal)
    if principal.user_id is None:
        raise ApiError("this token is not bound to a user; create one with --user", code=Code.NO_USER)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return superoffice.current_principal(ctx, tenant, principal.user_id)
