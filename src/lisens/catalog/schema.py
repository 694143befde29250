"""The strict schema of catalog files: unknown keys and wrong types are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
ModuleName = Annotated[str, Field(min_length=1, max_length=239)]
Text = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class ProvenanceEntry(Strict):
    kind: Literal["documented", "derived"]
    source: Text
    # The source text the entry rests on, copied unaltered (whitespace aside): a documented entry
    # needs one; a derived entry may quote what its reading starts from.
    quote: list[Text] = []


class LicenseEntry(Strict):
    name: ModuleName
    owner: Annotated[str, Field(pattern=r"^[A-Z0-9]+$")] = "SUPEROFFICE"
    constants: list[str] = []
    type: Literal["system", "site", "user"]
    description: Text
    tooltip: str | None = None
    unrestricted: bool = False
    hidden: bool = False
    prerequisite: ModuleName | None = None
    allowed_user_types: list[Literal["internal", "resource", "external", "anonymous", "system"]] = []
    provenance: ProvenanceEntry
    note: str | None = None


class ModuleLicensesFile(Strict):
    license: list[LicenseEntry]


class AddonEntry(Strict):
    key: Key
    name: Text
    description: Text
    system: Annotated[list[ModuleName], Field(min_length=1)]
    requires: Key | None = None
    provenance: ProvenanceEntry


class AddonsFile(Strict):
    addon: list[AddonEntry]


class GenerationHeader(Strict):
    key: Key
    name: Text
    description: Text
    tenant_system: list[ModuleName] = []
    addons: list[Key] = []
    tenant_plan: bool = False  # one plan for the whole tenant; a seat is a user who can log in
    provenance: ProvenanceEntry


class LimitEntry(Strict):
    key: Key
    name: Text


class LicenseSettings(Strict):
    implied_hidden: bool = False  # licenses a plan turns on are hidden
    visible: list[ModuleName] = []  # ... except these
    hidden: list[ModuleName] = []  # hidden in this generation whatever else says
    tier_markers: list[ModuleName] = []  # system licenses with ExtraFlags = 2
    sold: list[ModuleName] = []  # licenses sold one by one
    markers: list[ModuleName] = []  # licenses that mark a price list or tier rather than give a feature


class PlanEntry(Strict):
    key: Key
    name: Text
    description: str | None = None
    solution: Key | None = None
    tier: Annotated[str, Field(pattern=r"^[a-z0-9]+$")] | None = None
    plan_license: ModuleName
    system: list[ModuleName]
    extra_info: str
    unrestricted: bool = False
    limits: dict[Key, Annotated[int, Field(ge=0)]] = {}  # plan limits by metric; absent means unlimited
    provenance: ProvenanceEntry


class CombinationsEntry(Strict):
    rule: Literal["one-tier-per-solution"]
    # Every subset of solutions needs a combined plan license: a handful, not an exponential number.
    solutions: Annotated[list[Key], Field(min_length=2, max_length=6)]
    provenance: ProvenanceEntry


class CombinationLicenseEntry(Strict):
    solutions: Annotated[list[Key], Field(min_length=2)]
    plan_license: ModuleName


class CombinationEntry(Strict):
    plans: Annotated[list[Key], Field(min_length=2)]
    name: Text
    description: Text
    extra_info: str
    provenance: ProvenanceEntry


class FeatureEntry(Strict):
    key: Key
    group: Key
    parent: Key | None = None
    en: Text
    sv: Text
    de: Text
    licenses: Annotated[list[ModuleName], Field(min_length=1)]
    provenance: ProvenanceEntry


class GenerationFile(Strict):
    generation: GenerationHeader
    licenses: LicenseSettings = LicenseSettings()
    limit: list[LimitEntry] = []
    plan: list[PlanEntry] = []
    combinations: CombinationsEntry | None = None
    combination_license: list[CombinationLicenseEntry] = []
    combination: list[CombinationEntry] = []
    feature: list[FeatureEntry] = []


class LicenseText(Strict):
    """A module license's description and tooltip in another language (a tooltip only where English has one)."""

    description: Text
    tooltip: Text | None = None
    provenance: ProvenanceEntry


class PlanText(Strict):
    name: Text
    description: Text | None = None
    provenance: ProvenanceEntry


class AddonText(Strict):
    name: Text
    description: Text
    provenance: ProvenanceEntry


class TranslationsFile(Strict):
    """`translations-LANG.toml`: one table per license (by module name), plan and add-on (by key)."""

    language: Literal["sv", "de"]
    license: dict[ModuleName, LicenseText] = {}
    plan: dict[Key, PlanText] = {}
    addon: dict[Key, AddonText] = {}
