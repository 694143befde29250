"""Catalog values: module licenses, plans, add-ons, features and one generation's catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Literal

from lisens.domain.errors import UnknownAddon, UnknownLicense, UnknownPlan
from lisens.domain.extrainfo import format_extra_info
from lisens.domain.names import SUPEROFFICE, parse_license_name


class LicenseType(IntEnum):
    """The API enum: our system license is SuperOffice's SiteLicense (1), our site license its SatelliteLicense (2)."""

    SYSTEM = 1
    SITE = 2
    USER = 3

    @property
    def api_name(self) -> str:
        return {1: "SiteLicense", 2: "SatelliteLicense", 3: "UserLicense"}[self.value]

    @property
    def label(self) -> str:
        return self.name.lower()


class UserType(StrEnum):
    INTERNAL = "internal"
    RESOURCE = "resource"
    EXTERNAL = "external"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"

    @property
    def api_name(self) -> str:
        return f"{self.value.capitalize()}Associate"


class ExtraFlags(IntEnum):
    NONE = 0
    PLAN = 1
    TIER_MARKER = 2


@dataclass(frozen=True, slots=True)
class Provenance:
    kind: Literal["documented", "derived"]
    source: str
    quotes: tuple[str, ...] = ()  # the source text it rests on, unaltered


@dataclass(frozen=True, slots=True)
class ModuleLicense:
    owner: str
    name: str  # module name, lower case
    type: LicenseType
    description: str
    provenance: Provenance
    tooltip: str | None = None
    unrestricted: bool = False
    hidden: bool = False
    prerequisite: str | None = None
    allowed_user_types: frozenset[UserType] = frozenset()
    extra_flags: ExtraFlags = ExtraFlags.NONE
    extra_info: str | None = None
    sort_order: int = 0
    constants: tuple[str, ...] = ()
    note: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner.lower()}.{self.name}"


@dataclass(frozen=True, slots=True)
class Plan:
    """A user plan, or the combined plan of a multi-plan user (`parts` holds the base plans)."""

    key: str
    name: str
    plan_license: str  # module name of the plan license (ExtraFlags = 1)
    system: tuple[str, ...]  # system licenses the plan turns on for the tenant
    user: tuple[str, ...]  # the set= of the plan license, in order
    provenance: Provenance
    description: str = ""
    solution: str | None = None
    tier: str | None = None
    parts: tuple[str, ...] = ()  # base plan keys of a combined plan; empty for a base plan
    unrestricted: bool = False
    owner: str = SUPEROFFICE
    limits: Mapping[str, int] = field(default_factory=dict)  # plan limits by metric; absent = unlimited

    @property
    def extra_info(self) -> str:
        return format_extra_info(self.user)

    @property
    def is_combined(self) -> bool:
        return bool(self.parts)

    @property
    def licenses(self) -> frozenset[str]:
        """Module names of everything the plan issues: system + user licenses + the plan license."""
        return frozenset(self.system) | frozenset(self.user) | {self.plan_license}

    @property
    def base_keys(self) -> tuple[str, ...]:
        return self.parts or (self.key,)


@dataclass(frozen=True, slots=True)
class Addon:
    key: str
    name: str
    description: str
    system: tuple[str, ...]
    provenance: Provenance
    requires: str | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    group: str
    names: Mapping[str, str]  # language -> name
    licenses: tuple[str, ...]
    provenance: Provenance
    parent: str | None = None

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]


@dataclass(frozen=True, slots=True)
class CombinationRule:
    """One tier per solution: which solutions combine, and the plan license of each combination."""

    solutions: tuple[str, ...]
    plan_licenses: Mapping[frozenset[str], str]
    documented: Mapping[frozenset[str], Plan]  # combined plans stated verbatim in a source
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class CatalogIndex:
    """What the engine looks up on every check, computed once when the catalog is loaded (`index_catalog` in
    `lisens.domain.index`) and never changed: every legal combined plan by its parts in solution order,
    the canonical names a user holds through each plan (base and combined) by plan key, and the canonical
    name of every spelling apps commonly use for the catalog's licenses. A catalog without an index (built
    by hand) computes each of these when asked."""

    combined: Mapping[tuple[str, ...], Plan] = field(default_factory=dict)
    plan_held: Mapping[str, frozenset[str]] = field(default_factory=dict)
    spellings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """Everything one packaging generation sells, with every cross-reference already checked."""

    generation: str
    name: str
    description: str
    licenses: Mapping[str, ModuleLicense]  # by module name
    plans: Mapping[str, Plan]  # base plans by key
    addons: Mapping[str, Addon]
    features: tuple[Feature, ...]
    tenant_system: tuple[str, ...]
    provenance: Provenance
    combination: CombinationRule | None = None
    sold: tuple[str, ...] = ()  # licenses sold one by one (generation 7)
    tenant_plan: bool = False  # one plan for the whole tenant (CRM Suite)
    markers: frozenset[str] = frozenset()  # price-list and tier markers and plan licenses: no feature of their own
    limits: Mapping[str, str] = field(default_factory=dict)  # metric key -> name
    index: CatalogIndex = field(default_factory=CatalogIndex, repr=False, compare=False)

    def get_license(self, name: str) -> ModuleLicense | None:
        parsed = parse_license_name(name)
        if parsed.owner != SUPEROFFICE:
            return None
        return self.licenses.get(parsed.module)

    def require_license(self, name: str) -> ModuleLicense:
        found = self.get_license(name)
        if found is None:
            raise UnknownLicense(
                f"generation {self.generation} has no module license {name!r}", name=name, generation=self.generation
            )
        return found

    def require_addon(self, key: str) -> Addon:
        try:
            return self.addons[key]
        except KeyError:
            raise UnknownAddon(
                f"generation {self.generation} has no add-on {key!r}; known: {', '.join(self.addons)}",
                addon=key,
                generation=self.generation,
            ) from None

    def require_base_plan(self, key: str) -> Plan:
        try:
            return self.plans[key]
        except KeyError:
            known = ", ".join(self.plans) or "none (this generation has no plans)"
            raise UnknownPlan(
                f"generation {self.generation} has no plan {key!r}; known: {known}",
                plan=key,
                generation=self.generation,
            ) from None

    @property
    def plan_license_names(self) -> frozenset[str]:
        names = {plan.plan_license for plan in self.plans.values()}
        if self.combination is not None:
            names.update(self.combination.plan_licenses.values())
        return frozenset(names)
