"""Plan limits ("fencing"): CRM Suite's usage limits per plan, as SuperOffice's FencingInfo."""

from __future__ import annotations

from typing import Any

from lisens.service.context import Context
from lisens.service.state import load_state


def fencing_info(ctx: Context, tenant: str) -> dict[str, Any]:
    """FencingInfo of the tenant. Plan limits belong to CRM Suite tenants; others have none."""
    state = load_state(ctx, tenant)
    return {
        "ActiveCount": 0,
        "Maximum": 0,
        "IsNearingMaximum": False,
        "HasReachedMaximum": False,
        "WarningMessage": f"generation {state.row.generation} has no plan limits; they apply to CRM Suite plans",
        "WarningTooltip": None,
        "TableRight": None,
        "FieldProperties": {},
    }
