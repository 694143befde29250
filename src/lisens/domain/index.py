"""The index of a catalog: what checks look up, computed once when the catalog is loaded."""

from __future__ import annotations

import dataclasses

from lisens.domain.engine import combinations, plan_held
from lisens.domain.model import Catalog, CatalogIndex
from lisens.domain.names import SUPEROFFICE, canonical


def index_catalog(catalog: Catalog) -> Catalog:
    """`catalog` with its index: every legal combined plan (at most a few dozen), what each plan gives a
    user, and the canonical name of each usual spelling of its licenses (bare `module`, `owner.module`
    in lower, upper and title case of the owner)."""
    combined = {plan.parts: plan for plan in combinations(catalog)}
    plans = (*catalog.plans.values(), *combined.values())
    spellings: dict[str, str] = {}
    for module in catalog.licenses:
        for owner in ("", SUPEROFFICE.lower() + ".", SUPEROFFICE + ".", "SuperOffice."):
            spellings[owner + module] = canonical(owner + module)
    return dataclasses.replace(
        catalog,
        index=CatalogIndex(
            combined=combined, plan_held={plan.key: plan_held(plan) for plan in plans}, spellings=spellings
        ),
    )
