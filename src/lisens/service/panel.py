"""The license panel: owner information, system licenses in use, user licenses with total / in use / free."""

from __future__ import annotations

from typing import Any

from lisens.catalog.views import grant_view
from lisens.db.repositories import PurchaseRepository, UserRepository
from lisens.domain.engine import require_plan
from lisens.domain.model import LicenseType
from lisens.domain.names import SUPEROFFICE
from lisens.domain.seats import SeatCount
from lisens.service.context import Context
from lisens.service.results import PanelRead
from lisens.service.state import load_state


def panel(ctx: Context, tenant: str, *, show_all: bool = False) -> PanelRead:
    """What the SuperOffice license panel shows; hidden licenses only with `show_all`."""
    state = load_state(ctx, tenant)
    users = UserRepository(ctx.session)
    plan_counts = users.plan_counts(state.id)
    license_counts = users.license_counts(state.id)
    held = state.licenses()

    system = []
    for name in sorted(held.held):
        info = state.get_license(name)
        hidden = info.hidden if info else False
        if hidden and not show_all:
            continue
        system.append(
            {
                "license": name,
                "description": info.description if info else name,
                "tooltip": info.tooltip if info else None,
                "type": info.type.label if info else "system",
                "hidden": hidden,
                "in_use": True,
                "granted_by": [grant_view(g) for g in held.sources[name]],
            }
        )

    user_rows: list[dict[str, Any]] = []
    plan_keys = sorted(
        {item for item, seat in state.seats.items() if seat.kind == "plan"} | set(plan_counts),
    )
    for key in plan_keys:
        plan = require_plan(state.catalog, key)
        plan_license = state.get_license(f"superoffice.{plan.plan_license}")
        in_use = plan_counts.get(key, 0)
        total = None if plan.unrestricted else state.seat_total(key)
        user_rows.append(
            {
                "item": key,
                "kind": "plan",
                "license": f"superoffice.{plan.plan_license}",
                "description": plan.name,
                "tooltip": plan_license.tooltip if plan_license else None,
                "hidden": False,
                "unrestricted": plan.unrestricted,
                "total": total,
                "in_use": in_use,
                "free": SeatCount(total, in_use).free,
                "over": SeatCount(total, in_use).over,
            }
        )
    license_names = sorted({item for item, seat in state.seats.items() if seat.kind == "license"} | set(license_counts))
    for name in license_names:
        info = state.get_license(name)
        unrestricted = info.unrestricted if info else False
        in_use = license_counts.get(name, 0)
        total = None if unrestricted else state.seat_total(name)
        user_rows.append(
            {
                "item": name,
                "kind": "license",
                "license": name,
                "description": info.description if info else name,
                "tooltip": info.tooltip if info else None,
                "hidden": info.hidden if info else False,
                "unrestricted": unrestricted,
                "total": total,
                "in_use": in_use,
                "free": SeatCount(total, in_use).free,
                "over": SeatCount(total, in_use).over,
            }
        )
    if show_all:
        user_rows.extend(_implied_rows(state, plan_counts, license_counts))

    owners = PurchaseRepository(ctx.session).owners(state.id)
    return PanelRead(
        tenant=state.row.name,
        generation=state.row.generation,
        company=state.row.company,
        serial=state.row.serial,
        owners=[
            {"name": SUPEROFFICE, "description": "SuperOffice AS"},
            *({"name": o.name, "description": o.description} for o in owners.values()),
        ],
        system_licenses=system,
        user_licenses=user_rows,
    )


def _implied_rows(state: Any, plan_counts: dict[str, int], license_counts: dict[str, int]) -> list[dict[str, Any]]:
    """Hidden user licenses that plans imply: in use = holders through plans; total = seats of those plans."""
    totals: dict[str, int] = {}
    in_use: dict[str, int] = {}
    keys = {item for item, seat in state.seats.items() if seat.kind == "plan"} | set(plan_counts)
    for key in keys:
        plan = require_plan(state.catalog, key)
        for module in plan.user:
            name = f"superoffice.{module}"
            totals[name] = totals.get(name, 0) + state.seat_total(key)
            in_use[name] = in_use.get(name, 0) + plan_counts.get(key, 0)
    rows = []
    for name in sorted(totals):
        info = state.get_license(name)
        if info is None or not info.hidden or info.type is not LicenseType.USER:
            continue
        used = in_use[name] + license_counts.get(name, 0)
        rows.append(
            {
                "item": name,
                "kind": "implied",
                "license": name,
                "description": info.description,
                "tooltip": info.tooltip,
                "hidden": True,
                "unrestricted": info.unrestricted,
                "total": totals[name],
                "in_use": used,
                "free": SeatCount(totals[name], used).free,
                "over": SeatCount(totals[name], used).over,
            }
        )
    return rows
