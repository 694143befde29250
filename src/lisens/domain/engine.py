"""The plan engine: expand and combine plans, resolve a user's effective licenses, check and explain.

Pure functions over a `Catalog`; results are values. A missing license is a `Decision` with a
reason code, never an exception; exceptions are for bad input (unknown names, illegal combinations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

from lisens.domain.errors import InvalidCombination, Reason
from lisens.domain.model import Catalog, LicenseType, Plan, Provenance
from lisens.domain.names import SUPEROFFICE, canonical, parse_license_name, plan_parts

GrantKind = Literal["generation", "plan", "addon", "system", "direct"]
# The fixed order of the reasons a license is held: by kind in this order, then by source. The same
# state gives the same answer, byte for byte, whatever order plans and add-ons were stored or read in.
GRANT_ORDER: dict[str, int] = {"generation": 0, "plan": 1, "addon": 2, "system": 3, "direct": 4}

# Reason codes of a decision.
HELD = Reason.HELD
NOT_ASSIGNED = Reason.NOT_ASSIGNED  # a user license the user does not hold
NOT_IN_TENANT = Reason.NOT_IN_TENANT  # a system or site license the tenant does not have
UNKNOWN_LICENSE = Reason.UNKNOWN_LICENSE  # no such module license in the catalog


def _full(module: str) -> str:
    return f"superoffice.{module}"


# ---------------------------------------------------------------- plans


def expand(plan: Plan) -> tuple[str, ...]:
    """Every module name the plan issues (system + user + the plan license), sorted."""
    return tuple(sorted(plan.licenses))


def require_plan(catalog: Catalog, key: str) -> Plan:
    """A base plan by key, or a combined plan written `a+b[+c]`."""
    parts = list(plan_parts(key))
    if len(parts) == 1:
        return catalog.require_base_plan(parts[0])
    return combine(catalog, parts)


def solution_clash(plans: Iterable[Plan]) -> tuple[Plan, Plan] | None:
    """The first two plans that break the combination rule, or None. A multi-plan user holds at most one
    tier per solution (seed 001: Sales, Service, Marketing; Essential or Premium of each), so two plans
    of one solution, or one plan named twice, clash. The loader and `combine` both ask this."""
    seen: dict[str, Plan] = {}
    for plan in plans:
        other = seen.get(plan.solution or "")
        if other is not None:
            return other, plan
        seen[plan.solution or ""] = plan
    return None


def by_solution_order(plans: Iterable[Plan], solutions: Sequence[str]) -> tuple[Plan, ...]:
    """The plans of a combination in the order of their solutions (the order its key is written in)."""
    return tuple(sorted(plans, key=lambda plan: solutions.index(plan.solution or "")))


def combine(catalog: Catalog, keys: Iterable[str]) -> Plan:
    """The combined plan of a multi-plan user: union of the parts, under one combined plan license.

    Raises INVALID_COMBINATION naming the clash when two parts are tiers of the same solution,
    when a plan is named twice, or when the generation has no multi-plan users.
    """
    requested = list(keys)
    plans = [catalog.require_base_plan(key) for key in requested]
    if len(plans) == 1:
        return plans[0]
    if not plans:
        raise InvalidCombination("no plans to combine", plans=[])
    rule = catalog.combination
    if rule is None:
        raise InvalidCombination(
            f"generation {catalog.generation} has no multi-plan users; a user holds one plan "
            f"(asked to combine {' + '.join(requested)})",
            plans=requested,
            generation=catalog.generation,
        )
    found = solution_clash(plans)
    if found is not None:
        other, plan = found
        clash = "is named twice" if other.key == plan.key else f"and {plan.key} are both {plan.solution} plans"
        raise InvalidCombination(
            f"{other.key} {clash}; a multi-plan user holds at most one tier per solution",
            plans=requested,
            clash=[other.key, plan.key],
            solution=plan.solution,
        )
    ordered = by_solution_order(plans, rule.solutions)
    by_solution = {plan.solution or "": plan for plan in plans}
    cache_key = tuple(p.key for p in ordered)
    cached = catalog.index.combined.get(cache_key)
    if cached is not None:
        return cached
    solutions = frozenset(by_solution)
    documented = rule.documented.get(frozenset(cache_key))
    return documented or _union_plan(ordered, plan_license=rule.plan_licenses[solutions])


def _ordered_union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


def _union_plan(parts: tuple[Plan, ...], *, plan_license: str) -> Plan:
    kinds = {part.provenance.kind for part in parts}
    return Plan(
        key="+".join(part.key for part in parts),
        name=" + ".join(part.name for part in parts),
        description="".join(part.name.replace(" ", "") for part in parts),
        plan_license=plan_license,
        system=_ordered_union(part.system for part in parts),
        user=_ordered_union(part.user for part in parts),
        parts=tuple(part.key for part in parts),
        provenance=Provenance(
            kind="documented" if kinds == {"documented"} else "derived",
            source="union of " + ", ".join(part.key for part in parts) + " (one tier per solution)",
        ),
    )


def combinations(catalog: Catalog) -> tuple[Plan, ...]:
    """Every legal multi-plan combination of the generation (two or more solutions)."""
    rule = catalog.combination
    if rule is None:
        return ()
    tiers = [[p for p in catalog.plans.values() if p.solution == s] for s in rule.solutions]
    result = []
    for choice in product(*[[None, *options] for options in tiers]):
        chosen = [p.key for p in choice if p is not None]
        if len(chosen) >= 2:
            result.append(combine(catalog, chosen))
    return tuple(result)


# ---------------------------------------------------------------- grants and resolution


@dataclass(frozen=True, slots=True)
class Grant:
    """One reason a license is held (or would be): what kind of source, and which one."""

    kind: GrantKind
    source: str

    @property
    def order(self) -> tuple[int, str]:
        return GRANT_ORDER[self.kind], self.source

    def describe(self) -> str:
        return {
            "generation": f"every tenant of generation {self.source}",
            "plan": f"plan {self.source}",
            "addon": f"add-on {self.source}",
            "system": "a system license bought by the tenant",
            "direct": "assigned to the user directly",
        }[self.kind]


def ordered_grants(grants: Iterable[Grant]) -> tuple[Grant, ...]:
    """Grants in the fixed order (kind, then source), each once."""
    return tuple(sorted(set(grants), key=lambda grant: grant.order))


@dataclass(frozen=True, slots=True)
class TenantLicenses:
    """The system (and site) licenses a tenant has, and what gave each."""

    held: frozenset[str]  # canonical full names
    sources: Mapping[str, tuple[Grant, ...]]


def tenant_licenses(
    catalog: Catalog,
    *,
    plans: Iterable[Plan] = (),
    addons: Iterable[str] = (),
    system: Iterable[str] = (),
) -> TenantLicenses:
    """A tenant's system licenses: the generation's, its plans', its add-ons', and any bought alone."""
    sources: dict[str, list[Grant]] = {}

    def add(name: str, grant: Grant) -> None:
        sources.setdefault(name, []).append(grant)

    for module in catalog.tenant_system:
        add(_full(module), Grant("generation", catalog.generation))
    for plan in plans:
        for module in plan.system:
            add(_full(module), Grant("plan", plan.key))
    for key in addons:
        addon = catalog.require_addon(key)
        for module in addon.system:
            add(_full(module), Grant("addon", addon.key))
    for name in system:
        license_ = catalog.get_license(name)
        full = license_.full_name if license_ is not None else parse_license_name(name).full
        add(full, Grant("system", full))
    frozen = {name: ordered_grants(grants) for name, grants in sources.items()}
    return TenantLicenses(held=frozenset(frozen), sources=frozen)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to "does this user hold license X?", with the reason and what grants it."""

    license: str  # canonical full name
    held: bool
    reason: str
    granted_by: tuple[Grant, ...] = ()
    would_grant: tuple[Grant, ...] = ()
    warning: str | None = None  # LICENSE_IN_GRACE: held as before, but the term has expired


class _Answers(dict[str, bool]):
    """Spelling -> held?, filled on first ask: a repeated check is one C-level dict lookup."""

    __slots__ = ("held", "spellings")
    limit = 4096

    def __init__(self, held: frozenset[str], spellings: Mapping[str, str]) -> None:
        super().__init__()
        self.held = held
        self.spellings = spellings

    def __missing__(self, name: str) -> bool:
        key = self.spellings.get(name)
        if key is None:  # a spelling the catalog index does not hold
            key = canonical(name)
        answer = key in self.held
        if len(self) < self.limit:
            self[name] = answer
        return answer


class Resolution:
    """A user's effective licenses: tenant system licenses + the plan's set= + direct user licenses.

    `has_license(name)` takes `owner.module` or a bare `module` (owner SUPEROFFICE),
    case-insensitively. It is the bound lookup of a per-user memo, so that the check apps make
    over and over costs about as much as a set membership test.
    """

    __slots__ = ("catalog", "direct", "has_license", "held", "plan", "tenant")

    has_license: Callable[[str], bool]

    def __init__(
        self,
        catalog: Catalog,
        tenant: TenantLicenses,
        plan: Plan | None,
        direct: frozenset[str],
        held: frozenset[str],
    ) -> None:
        self.catalog = catalog
        self.tenant = tenant
        self.plan = plan
        self.direct = direct
        self.held = held
        self.has_license = _Answers(held, catalog.index.spellings).__getitem__

    @property
    def licenses(self) -> tuple[str, ...]:
        return tuple(sorted(self.held))

    def grants(self, name: str) -> tuple[Grant, ...]:
        key = canonical(name)
        found: list[Grant] = list(self.tenant.sources.get(key, ()))
        plan = self.plan
        if plan is not None and key in _plan_held(self.catalog, plan):
            found.append(Grant("plan", plan.key))
        if key in self.direct:
            found.append(Grant("direct", key))
        return ordered_grants(found)

    def explain(self, name: str) -> Decision:
        key = canonical(name)
        if key in self.held:
            return Decision(key, True, HELD, granted_by=self.grants(name))
        module = _known_module(self.catalog, key)
        if module is None:
            return Decision(key, False, UNKNOWN_LICENSE)
        license_ = self.catalog.licenses[module]
        reason = NOT_ASSIGNED if license_.type is LicenseType.USER else NOT_IN_TENANT
        return Decision(key, False, reason, would_grant=would_grant(self.catalog, module))


def _known_module(catalog: Catalog, key: str) -> str | None:
    owner, _, module = key.partition(".")
    if owner != SUPEROFFICE.lower() or module not in catalog.licenses:
        return None
    return module


def _plan_held(catalog: Catalog, plan: Plan) -> frozenset[str]:
    """Canonical names a user holds through the plan: its set= and the plan license itself."""
    held = catalog.index.plan_held.get(plan.key)
    if held is None:
        held = plan_held(plan)
    return held


def plan_held(plan: Plan) -> frozenset[str]:
    return frozenset(_full(m) for m in (*plan.user, plan.plan_license))


def resolve(
    catalog: Catalog,
    tenant: TenantLicenses,
    *,
    plan: Plan | None = None,
    direct: Iterable[str] = (),
) -> Resolution:
    """Resolve a user's effective licenses (DESIGN rule 1)."""
    direct_held = frozenset(canonical(name) for name in direct)
    held = tenant.held
    if plan is not None:
        held = held | _plan_held(catalog, plan)
    if direct_held:
        held = held | direct_held
    return Resolution(catalog, tenant, plan, direct_held, held)


def would_grant(catalog: Catalog, module: str) -> tuple[Grant, ...]:
    """Which plans, add-ons or direct assignments would give a user this module license."""
    found = [Grant("plan", p.key) for p in catalog.plans.values() if module in p.licenses]
    found += [Grant("addon", a.key) for a in catalog.addons.values() if module in a.system]
    license_ = catalog.licenses[module]
    if license_.type is LicenseType.USER and not license_.hidden:
        found.append(Grant("direct", license_.full_name))
    elif license_.type is not LicenseType.USER and module in catalog.sold:
        found.append(Grant("system", license_.full_name))
    return ordered_grants(found)
