"""A tenant's module licenses as rows with numbers: what a license package and the License API list.

Each row is one module license the tenant has, with its total and how many are in use: system
licenses (1 / 1), plan licenses (the seats of every plan using it), hidden user licenses a plan
implies (the seats of the plans implying it), user licenses bought or assignable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from lisens.db.repositories import UserRepository
from lisens.domain.engine import require_plan
from lisens.domain.model import LicenseType, Plan
from lisens.domain.seats import SeatCount
from lisens.service.context import Context
from lisens.service.state import LicenseInfo, TenantState


@dataclass(frozen=True)
class LicenseRow:
    info: LicenseInfo
    total: int
    in_use: int
    extra_flags: int
    extra_info: str | None
    tooltip: str | None
    sort_order: int

    @property
    def seats(self) -> SeatCount:
        """The row's seats; an unrestricted license has no limit (its total only counts holders)."""
        return SeatCount(None if self.info.unrestricted else self.total, self.in_use)

    @property
    def free(self) -> int:
        return SeatCount(self.total, self.in_use).free or 0


def license_rows(ctx: Context, state: TenantState) -> list[LicenseRow]:
    users = UserRepository(ctx.session)
    plan_counts = users.plan_counts(state.id)
    direct_counts = users.license_counts(state.id)
    plans: dict[str, Plan] = {
        key: require_plan(state.catalog, key)
        for key in {item for item, seat in state.seats.items() if seat.kind == "plan"} | set(plan_counts)
    }
    totals: dict[str, int] = {}
    in_use: dict[str, int] = {}
    showcase: dict[str, Plan] = {}
    for key, plan in plans.items():
        seats = state.seat_total(key)
        holders = plan_counts.get(key, 0)
        for module in (*plan.user, plan.plan_license):
            name = f"superoffice.{module}"
            totals[name] = totals.get(name, 0) + seats
            in_use[name] = in_use.get(name, 0) + holders
        # The row shows the ExtraInfo of the plan with the most seats; on a tie the highest tier.
        current = showcase.get(plan.plan_license)
        if current is None or _rank(state, plan) > _rank(state, current):
            showcase[plan.plan_license] = plan
    for name, count in direct_counts.items():
        in_use[name] = in_use.get(name, 0) + count
    for item, seat in state.seats.items():
        if seat.kind == "license":
            totals[item] = totals.get(item, 0) + seat.number

    tenant_held = state.licenses().held
    rows: list[LicenseRow] = []
    names = set(totals) | set(in_use) | set(tenant_held) | _assignable_unrestricted(state)
    for name in names:
        info = state.get_license(name)
        if info is None:
            continue
        catalog_license = state.catalog.licenses.get(info.module) if info.owner == "SUPEROFFICE" else None
        if info.type is not LicenseType.USER:
            if name not in tenant_held:
                continue
            total, used = 1, 1
        else:
            used = in_use.get(name, 0)
            total = totals.get(name, 0)
            if info.unrestricted:
                total = max(total, used, 1)  # never 0, even when unrestricted
            elif total == 0 and used == 0:
                continue
        shown = showcase.get(info.module) if info.is_plan_license else None
        rows.append(
            LicenseRow(
                info=info,
                total=total,
                in_use=used,
                extra_flags=int(catalog_license.extra_flags) if catalog_license else 0,
                extra_info=shown.extra_info if shown else (catalog_license.extra_info if catalog_license else None),
                tooltip=catalog_license.tooltip if catalog_license else None,
                sort_order=catalog_license.sort_order if catalog_license else 10_000,
            )
        )
    rows.sort(key=lambda row: (row.info.owner, row.sort_order, row.info.full_name))
    return rows


def _rank(state: TenantState, plan: Plan) -> tuple[int, bool, str]:
    return (state.seat_total(plan.key), "premium" in plan.key, plan.key)


def _assignable_unrestricted(state: TenantState) -> set[str]:
    """Visible, unrestricted user licenses (visible-for, …): every tenant may assign them."""
    names = {
        lic.full_name
        for lic in state.catalog.licenses.values()
        if lic.type is LicenseType.USER
        and lic.unrestricted
        and not lic.hidden
        and lic.name not in state.catalog.plan_license_names
    }
    names.update(name for name, row in state.partner.items() if row.type == "user")
    return names
