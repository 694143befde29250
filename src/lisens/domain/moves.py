"""Moving users from one packaging generation to another: which plan each gets, and what changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lisens.domain.engine import require_plan
from lisens.domain.model import Catalog, LicenseType, Plan, Provenance
from lisens.domain.names import is_combined, plan_key, plan_parts


@dataclass(frozen=True)
class PlanMapping:
    """A mapping file: source plan -> target plan key (or none), or license rules for plan-less sources."""

    source: str
    target: str
    description: str
    plans: Mapping[str, str | None]
    rules: tuple[tuple[frozenset[str], str | None], ...]
    rank: tuple[str, ...]
    provenance: Provenance

    def target_plan(self, source: Catalog, target: Catalog, plan: Plan | None, direct: Iterable[str]) -> Plan | None:
        """The plan a user gets in the target generation."""
        if source.plans:
            if plan is None:
                return None
            keys = [self.plans[part] for part in plan.base_keys]
            wanted = [key for key in keys if key]
        else:
            held = {name.partition(".")[2] for name in direct if name.startswith("superoffice.")}
            wanted = []
            for when, key in self.rules:
                if when <= held:
                    wanted = [key] if key else []
                    break
        if not wanted:
            return None
        if target.tenant_plan or target.combination is None or (len(wanted) == 1 and not is_combined(wanted[0])):
            # One plan per user: a user who held several gets the highest (by `rank`).
            return require_plan(target, self.highest(wanted))
        return require_plan(target, plan_key({part for key in wanted for part in plan_parts(key)}))

    def highest(self, keys: Iterable[str]) -> str:
        chosen = list(keys)
        if not self.rank:
            return chosen[0]
        return max(chosen, key=self.rank.index)


def carried_licenses(target: Catalog, direct: Iterable[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped): direct licenses that are assignable by hand in the target generation, and the rest."""
    kept, dropped = [], []
    for name in direct:
        owner, _, module = name.partition(".")
        license_ = target.licenses.get(module) if owner == "superoffice" else None
        if owner != "superoffice":
            kept.append(name)  # partner licenses do not depend on the packaging
        elif (
            license_ is not None
            and license_.type is LicenseType.USER
            and not license_.hidden
            and module not in target.plan_license_names
        ):
            kept.append(name)
        else:
            dropped.append(name)
    return kept, dropped
