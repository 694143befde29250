"""SuperOffice's License API carriers, field for field as in its published swagger (PascalCase).

The one definition of these wire shapes: `lisens.service.superoffice` builds them from a tenant's state, and
both the REST form (`api/compat.py`) and the agent form (`api/agent.py`) answer with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

LicenseTypeName = Literal["Unknown", "SiteLicense", "SatelliteLicense", "UserLicense"]
UserTypeName = Literal[
    "Unknown", "InternalAssociate", "ResourceAssociate", "ExternalAssociate", "AnonymousAssociate", "SystemAssociate"
]


class Carrier(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ModuleLicense(Carrier):
    OwnerName: str | None
    ModuleName: str | None
    ModuleDescription: str | None
    ModuleTooltip: str | None
    ModuleVersion: str | None
    LicenseType: LicenseTypeName
    Unrestricted: bool
    AllowedUserType: UserTypeName
    NumberOfLicenses: int
    ExtraFlags: int
    ExtraInfo: str | None
    SortOrder: int
    IsHidden: bool
    PrerequisiteModuleName: str | None
    Signature: str | None


class ExtendedModuleLicense(Carrier):
    New: ModuleLicense | None
    Current: ModuleLicense | None
    NumberOfLicensesInUse: int
    NumberOfLicensesFree: int
    NumberOfLicensesAdded: int
    NumberOfLicensesNewTotal: int
    NumberOfLicensesNewFree: int
    NumberOfLicensesTotal: int


class LicenseInfo(Carrier):
    CompanyName: str | None
    SerialNr: str | None
    OwnerName: str | None
    OwnerDescription: str | None
    NextCheckDate: datetime | None
    MaintenanceDate: datetime | None
    AdminWarningDate: datetime | None
    ExpiryDate: datetime | None
    GraceDate: datetime | None
    ExtraFlags: int
    ExtraInfo: str | None
    LicenseUrl: str | None
    LicenseVersion: str | None
    DeploymentType: int
    ProductType: str | None
    ProductDescription: str | None
    ModuleLicenses: list[ModuleLicense]
    PublicKey: dict[str, Any] | None
    Signature: str | None


class ExtendedLicenseInfo(Carrier):
    Reason: str | None
    CanBeActivated: bool
    New: LicenseInfo | None
    Current: LicenseInfo | None
    ExtendedModuleLicenses: list[ExtendedModuleLicense]
    AccumulatedNextCheckDate: datetime | None


class ModuleLicenseLink(Carrier):
    Unrestricted: bool
    Total: int
    Tooltip: str | None
    CanAssign: bool
    Free: int
    InUse: int
    IsHidden: bool
    Assigned: bool
    ModuleLicenseId: int
    Name: str | None
    Description: str | None
    PrerequisiteModuleName: str | None
    SortOrder: int
    ExtraFlags: int
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]


class LicenseOwner(Carrier):
    Name: str | None
    Description: str | None
    RestrictedModuleLicenses: list[ModuleLicenseLink]
    UnrestrictedModuleLicenses: list[ModuleLicenseLink]
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]


class GrantedModuleLicense(Carrier):
    OwnerId: int
    OwnerName: str | None
    OwnerDescription: str | None
    ModuleId: int
    Name: str | None
    Description: str | None
    Version: str | None
    LicenseType: LicenseTypeName
    ExtraFlags: int
    ExtraInfo: str | None
    SortOrder: int
    LicenseNumber: int
    IsHidden: bool
    IsUnrestricted: bool
    ExpiryDate: datetime | None
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]


class SoPrincipalCarrier(Carrier):
    UserType: UserTypeName
    Associate: str | None
    AssociateId: int
    IsPerson: bool
    PersonId: int
    CountryId: int
    HomeCountryId: int
    ContactId: int
    GroupId: int
    BusinessId: int
    CategoryId: int
    ContactOwner: int
    RoleId: int
    RoleName: str | None
    RoleDescription: str | None
    RoleType: Literal["Employee", "ExternalUser", "Anonymous", "System"]
    Licenses: list[GrantedModuleLicense]
    FullName: str | None
    EMailAddress: str | None
    FunctionRights: list[str]
    EjUserId: int
    EjAccessLevel: int
    EjUserStatus: Literal[
        "StatusNone",
        "StatusNormal",
        "StatusNotAvailable",
        "StatusDeleted",
        "StatusReadOnly",
        "StatusSpm",
        "StatusSystem",
    ]
    ProvidedCredentials: list[dict[str, Any]]
    SecondaryGroups: list[dict[str, Any]]
    DatabaseContextIdentifier: str | None
    UserName: str | None


class LicenseResult(Carrier):
    Succeeded: bool
    Reason: str | None
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]


class CheckLicenseStatusResult(Carrier):
    LicenseStatus: Literal[
        "Ok",
        "NewLicenseAvailable",
        "NewCompanyNameAvailable",
        "NewSerialAvailable",
        "UseCustomMessage",
        "UseCustomMessageAndUrl",
        "NewLicenseActivated",
        "ProblemWithLicense",
        "UnknownError",
    ]
    Message: str | None
    Url: str | None


class UserAndInstallationLicenceStatus(Carrier):
    AdminWarningDate: datetime | None
    ExpiryDate: datetime | None
    GraceDate: datetime | None
    CompanyName: str | None
    SerialNr: str | None
    UserLicenses: list[str]


class SelectableMDOListItem(Carrier):
    Id: int
    Name: str | None
    ToolTip: str | None
    Deleted: bool
    Rank: int
    Type: str | None
    ColorBlock: int
    IconHint: str | None
    Selected: bool
    LastChanged: datetime | None
    ChildItems: list[dict[str, Any]]
    ExtraInfo: str | None
    StyleHint: str | None
    Hidden: bool
    FullName: str | None
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]


class FencingInfo(Carrier):
    ActiveCount: int
    Maximum: int
    IsNearingMaximum: bool
    HasReachedMaximum: bool
    WarningMessage: str | None
    WarningTooltip: str | None
    TableRight: dict[str, Any] | None
    FieldProperties: dict[str, Any]
