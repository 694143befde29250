"""SuperOffice License API carriers (`superoffice_carriers`) built from a tenant's state.

One implementation for every form of the License API that Lisens answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal, cast

from lisens.db.models import UserRow
from lisens.db.repositories import PurchaseRepository, UserRepository
from lisens.domain.billing import license_dates
from lisens.domain.decide import held
from lisens.domain.engine import require_plan
from lisens.domain.errors import Code, NotFound
from lisens.domain.model import LicenseType, UserType
from lisens.domain.names import SUPEROFFICE, parse_license_name
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.decisions import holder_of, term_of
from lisens.service.licenses import LicenseRow, license_rows
from lisens.service.state import TenantState, load_state
from lisens.service.superoffice_carriers import (
    CheckLicenseStatusResult,
    ExtendedLicenseInfo,
    ExtendedModuleLicense,
    GrantedModuleLicense,
    LicenseInfo,
    LicenseOwner,
    LicenseResult,
    LicenseTypeName,
    ModuleLicense,
    ModuleLicenseLink,
    SelectableMDOListItem,
    SoPrincipalCarrier,
    UserAndInstallationLicenceStatus,
    UserTypeName,
)
from lisens.service.users import assign, unassign

SUPEROFFICE_DESCRIPTION = "SuperOffice AS"


def _version(state: TenantState) -> str:
    return state.row.generation


def _license_type(value: LicenseType) -> LicenseTypeName:
    return cast(LicenseTypeName, value.api_name)


def _user_type(value: UserType) -> UserTypeName:
    return cast(UserTypeName, value.api_name)


def _allowed(row: LicenseRow) -> UserTypeName:
    types = row.info.allowed_user_types
    if row.info.type is not LicenseType.USER or not types:
        return "Unknown"
    if UserType.INTERNAL in types:
        return _user_type(UserType.INTERNAL)
    return _user_type(sorted(types)[0])


def _prerequisite(row: LicenseRow) -> str | None:
    return row.info.prerequisite.partition(".")[2] if row.info.prerequisite else None


def module_license(state: TenantState, row: LicenseRow) -> ModuleLicense:
    return ModuleLicense(
        OwnerName=row.info.owner,
        ModuleName=row.info.module,
        ModuleDescription=row.info.description,
        ModuleTooltip=row.tooltip,
        ModuleVersion=_version(state),
        LicenseType=_license_type(row.info.type),
        Unrestricted=row.info.unrestricted,
        AllowedUserType=_allowed(row),
        NumberOfLicenses=row.total,
        ExtraFlags=row.extra_flags,
        ExtraInfo=row.extra_info,
        SortOrder=row.sort_order,
        IsHidden=row.info.hidden,
        PrerequisiteModuleName=_prerequisite(row),
        Signature=None,
    )


def _owners(ctx: Context, state: TenantState) -> dict[str, str]:
    owners = {SUPEROFFICE: SUPEROFFICE_DESCRIPTION}
    owners.update({name: row.description for name, row in PurchaseRepository(ctx.session).owners(state.id).items()})
    return owners


def _require_owner(ctx: Context, state: TenantState, owner: str) -> tuple[str, str]:
    owners = _owners(ctx, state)
    key = owner.upper()
    if key not in owners:
        raise NotFound(f"no license owner {owner!r}", code=Code.UNKNOWN_OWNER, owner=owner)
    return key, owners[key]


@dataclass(frozen=True)
class PackageDates:
    """The dates of a license package (all None for a tenant without a subscription)."""

    maintenance: datetime | None = None
    admin_warning: datetime | None = None
    expiry: datetime | None = None
    grace: datetime | None = None


def package_dates(ctx: Context, state: TenantState, day: date | None = None) -> PackageDates:
    """The package dates from the subscription on `day` (today by default); maintenance = warning, as in
    the documented sample. All None for a tenant without a subscription."""
    contract = contract_of(ctx, state.id)
    if contract is None:
        return PackageDates()
    dates = license_dates(contract, day or ctx.now().date())

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0))

    return PackageDates(
        maintenance=midnight(dates.admin_warning),
        admin_warning=midnight(dates.admin_warning),
        expiry=midnight(dates.expiry),
        grace=midnight(dates.grace),
    )


def license_info(
    ctx: Context, state: TenantState, owner: str, rows: list[LicenseRow], *, day: date | None = None
) -> LicenseInfo:
    name, description = _require_owner(ctx, state, owner)
    dates = package_dates(ctx, state, day)
    return LicenseInfo(
        CompanyName=state.row.company,
        SerialNr=state.row.serial,
        OwnerName=name,
        OwnerDescription=description,
        NextCheckDate=None,
        MaintenanceDate=dates.maintenance,
        AdminWarningDate=dates.admin_warning,
        ExpiryDate=dates.expiry,
        GraceDate=dates.grace,
        ExtraFlags=0,
        ExtraInfo="",
        LicenseUrl=None,
        LicenseVersion=_version(state),
        DeploymentType=1,
        ProductType=None,
        ProductDescription=None,
        ModuleLicenses=[module_license(state, r) for r in rows if r.info.owner == name],
        PublicKey=None,
        Signature=None,
    )


def extended_license_info(ctx: Context, tenant: str, owner: str) -> ExtendedLicenseInfo:
    state = load_state(ctx, tenant)
    rows = license_rows(ctx, state)
    current = license_info(ctx, state, owner, rows)
    return ExtendedLicenseInfo(
        Reason="",
        CanBeActivated=False,
        New=None,
        Current=current,
        ExtendedModuleLicenses=[
            ExtendedModuleLicense(
                New=None,
                Current=module_license(state, r),
                NumberOfLicensesInUse=r.in_use,
                NumberOfLicensesFree=r.free,
                NumberOfLicensesAdded=0,
                NumberOfLicensesNewTotal=r.total,
                NumberOfLicensesNewFree=r.free,
                NumberOfLicensesTotal=r.total,
            )
            for r in rows
            if r.info.owner == current.OwnerName
        ],
        AccumulatedNextCheckDate=None,
    )


def all_owners(ctx: Context, tenant: str) -> list[ExtendedLicenseInfo]:
    state = load_state(ctx, tenant)
    return [extended_license_info(ctx, tenant, owner) for owner in _owners(ctx, state)]


def module_license_of(ctx: Context, tenant: str, owner: str, module: str) -> ModuleLicense:
    state = load_state(ctx, tenant)
    name, _ = _require_owner(ctx, state, owner)
    full = f"{name.lower()}.{module.lower()}"
    for row in license_rows(ctx, state):
        if row.info.full_name == full:
            return module_license(state, row)
    raise NotFound(f"tenant {tenant!r} has no module license {full}", code=Code.LICENSE_NOT_IN_TENANT, name=full)


def _require_associate(ctx: Context, state: TenantState, associate_id: int) -> UserRow:
    row = UserRepository(ctx.session).get_by_id(state.id, associate_id)
    if row is None:
        raise NotFound(f"no associate {associate_id}", code=Code.UNKNOWN_USER, associate_id=associate_id)
    return row


def _links(ctx: Context, state: TenantState, user: UserRow | None, owner: str) -> list[ModuleLicenseLink]:
    """ModuleLicenseLink for each assignable user license of one owner (hidden ones are not listed);
    `Assigned` says whether `user` holds it (never, without a user)."""
    users = UserRepository(ctx.session)
    plan_key = users.plan(state.id, user.id) if user else None
    plan_license = f"superoffice.{require_plan(state.catalog, plan_key).plan_license}" if plan_key else None
    direct = set(users.licenses(state.id, user.id)) if user else set()
    links: list[ModuleLicenseLink] = []
    for row in license_rows(ctx, state):
        if row.info.owner != owner or row.info.type is not LicenseType.USER or row.info.hidden:
            continue
        assigned = row.info.full_name == plan_license or row.info.full_name in direct
        links.append(
            ModuleLicenseLink(
                Unrestricted=row.info.unrestricted,
                Total=row.total,
                Tooltip=row.tooltip,
                CanAssign=assigned or row.seats.can_take(),
                Free=row.free,
                InUse=row.in_use,
                IsHidden=row.info.hidden,
                Assigned=assigned,
                ModuleLicenseId=row.sort_order,
                Name=row.info.module,
                Description=row.info.description,
                PrerequisiteModuleName=_prerequisite(row),
                SortOrder=row.sort_order,
                ExtraFlags=row.extra_flags,
                TableRight=None,
                FieldProperties={},
            )
        )
    return links


def user_license_owners(ctx: Context, tenant: str, associate_id: int | None) -> list[LicenseOwner]:
    """Every owner's user licenses with usage; `Assigned` for the associate (none for the central view)."""
    state = load_state(ctx, tenant)
    user = _require_associate(ctx, state, associate_id) if associate_id is not None else None
    owners: list[LicenseOwner] = []
    for name, description in _owners(ctx, state).items():
        links = _links(ctx, state, user, name)
        owners.append(
            LicenseOwner(
                Name=name,
                Description=description,
                RestrictedModuleLicenses=[link for link in links if not link.Unrestricted],
                UnrestrictedModuleLicenses=[link for link in links if link.Unrestricted],
                TableRight=None,
                FieldProperties={},
            )
        )
    return owners


def owner_assignments(ctx: Context, tenant: str, owner: str, associate_id: int) -> list[ModuleLicenseLink]:
    state = load_state(ctx, tenant)
    name, _ = _require_owner(ctx, state, owner)
    return _links(ctx, state, _require_associate(ctx, state, associate_id), name)


def change_owner_assignments(
    ctx: Context,
    tenant: str,
    owner: str,
    associate_id: int,
    modules: list[str],
    *,
    remove: bool,
    at: datetime | None = None,
) -> list[ModuleLicenseLink]:
    """Assign (or unassign) module licenses of one owner to an associate, all or none."""
    state = load_state(ctx, tenant)
    name, _ = _require_owner(ctx, state, owner)
    user = _require_associate(ctx, state, associate_id)
    full = [f"{name.lower()}.{m.lower()}" for m in modules]
    if remove:
        unassign(ctx, tenant, user.name, licenses=full, at=at)
    else:
        assign(ctx, tenant, user.name, licenses=full, at=at)
    return _links(ctx, load_state(ctx, tenant), user, name)


ROLE_TYPES: dict[str, Literal["Employee", "ExternalUser", "Anonymous", "System"]] = {
    "internal": "Employee",
    "resource": "Employee",
    "external": "ExternalUser",
    "anonymous": "Anonymous",
}


def current_principal(ctx: Context, tenant: str, user_id: int) -> SoPrincipalCarrier:
    state = load_state(ctx, tenant)
    user = _require_associate(ctx, state, user_id)
    owners = _owners(ctx, state)
    owner_ids = {name: n for n, name in enumerate(owners, start=1)}
    rows = {row.info.full_name: row for row in license_rows(ctx, state)}
    expiry = package_dates(ctx, state).expiry
    granted: list[GrantedModuleLicense] = []
    for full in held(holder_of(ctx, state, user), term_of(ctx, state)):
        row = rows.get(full)
        info = row.info if row else state.get_license(full)
        if info is None:
            continue
        granted.append(
            GrantedModuleLicense(
                OwnerId=owner_ids.get(info.owner, 0),
                OwnerName=info.owner,
                OwnerDescription=owners.get(info.owner, ""),
                ModuleId=row.sort_order if row else 0,
                Name=info.module,
                Description=info.description,
                Version=_version(state),
                LicenseType=_license_type(info.type),
                ExtraFlags=row.extra_flags if row else 0,
                ExtraInfo=(row.extra_info if row else None) or "",
                SortOrder=row.sort_order if row else 0,
                LicenseNumber=row.total if row else 1,
                IsHidden=info.hidden,
                IsUnrestricted=info.unrestricted,
                ExpiryDate=expiry,
                TableRight=None,
                FieldProperties={},
            )
        )
    return SoPrincipalCarrier(
        UserType=_user_type(UserType(user.type)),
        Associate=user.name,
        AssociateId=user.id,
        IsPerson=user.type in ("internal", "external"),
        PersonId=0,
        CountryId=0,
        HomeCountryId=0,
        ContactId=0,
        GroupId=0,
        BusinessId=0,
        CategoryId=0,
        ContactOwner=0,
        RoleId=0,
        RoleName=None,
        RoleDescription=None,
        RoleType=ROLE_TYPES.get(user.type, "System"),
        Licenses=granted,
        FullName=user.name,
        EMailAddress=None,
        FunctionRights=[],
        EjUserId=0,
        EjAccessLevel=0,
        EjUserStatus="StatusNone" if user.retired else "StatusNormal",
        ProvidedCredentials=[],
        SecondaryGroups=[],
        DatabaseContextIdentifier=state.row.name,
        UserName=user.name,
    )


def license_result(succeeded: bool, reason: str) -> LicenseResult:
    return LicenseResult(Succeeded=succeeded, Reason=reason, TableRight=None, FieldProperties={})


def user_and_installation_status(ctx: Context, tenant: str, associate_id: int) -> UserAndInstallationLicenceStatus:
    state = load_state(ctx, tenant)
    user = _require_associate(ctx, state, associate_id)
    dates = package_dates(ctx, state)
    modules = [parse_license_name(name).module for name in held(holder_of(ctx, state, user), term_of(ctx, state))]
    return UserAndInstallationLicenceStatus(
        AdminWarningDate=dates.admin_warning,
        ExpiryDate=dates.expiry,
        GraceDate=dates.grace,
        CompanyName=state.row.company,
        SerialNr=state.row.serial,
        UserLicenses=modules,
    )


def user_licenses_mdo_list(ctx: Context, tenant: str) -> list[SelectableMDOListItem]:
    """The assignable user licenses as MDO list items (as the userplan list shows plans)."""
    state = load_state(ctx, tenant)
    return [
        SelectableMDOListItem(
            Id=row.sort_order,
            Name=row.info.description,
            ToolTip=row.tooltip,
            Deleted=False,
            Rank=row.sort_order,
            Type="userlicense",
            ColorBlock=0,
            IconHint=None,
            Selected=False,
            LastChanged=None,
            ChildItems=[],
            ExtraInfo=row.info.module,
            StyleHint=None,
            Hidden=False,
            FullName=row.info.full_name,
            TableRight=None,
            FieldProperties={},
        )
        for row in license_rows(ctx, state)
        if row.info.type is LicenseType.USER and not row.info.hidden
    ]


def license_status_result(ctx: Context, tenant: str) -> CheckLicenseStatusResult:
    """CheckLicenseStatusResult: Lisens is the license server, so the stored license is the newest one."""
    term = term_of(ctx, load_state(ctx, tenant))
    if term.dates is not None and (term.blocking or term.warning):
        return CheckLicenseStatusResult(
            LicenseStatus="ProblemWithLicense", Message=f"license status {term.dates.status.value}", Url=None
        )
    return CheckLicenseStatusResult(LicenseStatus="Ok", Message="License is ok. No changes detected", Url=None)
