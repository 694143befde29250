"""Plain, JSON-ready views of catalog values, shared by the CLI and the API."""

from __future__ import annotations

from typing import Any

from lisens.domain.engine import Decision, Grant, expand
from lisens.domain.model import Addon, Catalog, Feature, ModuleLicense, Plan, Provenance


def provenance_view(provenance: Provenance) -> dict[str, str]:
    return {"kind": provenance.kind, "source": provenance.source}


def plan_view(catalog: Catalog, plan: Plan) -> dict[str, Any]:
    return {
        "key": plan.key,
        "name": plan.name,
        "description": plan.description,
        "generation": catalog.generation,
        "plan_license": plan.plan_license,
        "plan_license_full": f"{plan.owner.lower()}.{plan.plan_license}",
        "extra_flags": 1,
        "extra_info": plan.extra_info,
        "solution": plan.solution,
        "tier": plan.tier,
        "parts": list(plan.base_keys),
        "combined": plan.is_combined,
        "unrestricted": plan.unrestricted,
        "system": sorted(plan.system),
        "user": list(plan.user),
        "licenses": list(expand(plan)),
        "provenance": provenance_view(plan.provenance),
    }


def license_view(license_: ModuleLicense) -> dict[str, Any]:
    return {
        "name": license_.name,
        "full_name": license_.full_name,
        "owner": license_.owner,
        "type": license_.type.label,
        "api_type": license_.type.api_name,
        "description": license_.description,
        "tooltip": license_.tooltip,
        "hidden": license_.hidden,
        "unrestricted": license_.unrestricted,
        "prerequisite": license_.prerequisite,
        "allowed_user_types": sorted(t.value for t in license_.allowed_user_types),
        "extra_flags": int(license_.extra_flags),
        "extra_info": license_.extra_info,
        "sort_order": license_.sort_order,
        "constants": list(license_.constants),
        "provenance": provenance_view(license_.provenance),
        "note": license_.note,
    }


def addon_view(addon: Addon) -> dict[str, Any]:
    return {
        "key": addon.key,
        "name": addon.name,
        "description": addon.description,
        "system": list(addon.system),
        "requires": addon.requires,
        "provenance": provenance_view(addon.provenance),
    }


def feature_view(feature: Feature, lang: str) -> dict[str, Any]:
    return {
        "key": feature.key,
        "group": feature.group,
        "parent": feature.parent,
        "name": feature.name(lang),
        "names": dict(feature.names),
        "licenses": list(feature.licenses),
        "provenance": provenance_view(feature.provenance),
    }


def generation_view(catalog: Catalog) -> dict[str, Any]:
    return {
        "key": catalog.generation,
        "name": catalog.name,
        "description": catalog.description,
        "plans": list(catalog.plans),
        "combinations": catalog.combination is not None,
        "addons": list(catalog.addons),
        "licenses": len(catalog.licenses),
        "features": len(catalog.features),
        "tenant_system": list(catalog.tenant_system),
        "provenance": provenance_view(catalog.provenance),
    }


def grant_view(grant: Grant) -> dict[str, str]:
    return {"kind": grant.kind, "source": grant.source, "text": grant.describe()}


def decision_view(decision: Decision) -> dict[str, Any]:
    """A decision as JSON; `warning` only when there is one (LICENSE_IN_GRACE)."""
    view: dict[str, Any] = {
        "license": decision.license,
        "held": decision.held,
        "reason": decision.reason,
        "granted_by": [grant_view(g) for g in decision.granted_by],
        "would_grant": [grant_view(g) for g in decision.would_grant],
    }
    if decision.warning is not None:
        view["warning"] = decision.warning
    return view
