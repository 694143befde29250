"""A tenant's licensing state loaded from the database, in the terms of the domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lisens.db.models import PartnerLicenseRow, SeatRow, TenantRow, UserRow
from lisens.db.repositories import PurchaseRepository, TenantRepository, UserRepository
from lisens.domain.engine import Resolution, TenantLicenses, require_plan, resolve, tenant_licenses
from lisens.domain.errors import UnknownLicense, UnknownTenant, UnknownUser
from lisens.domain.model import Catalog, LicenseType, Plan, UserType
from lisens.domain.names import SUPEROFFICE, parse_license_name
from lisens.service.context import Context


@dataclass(frozen=True)
class LicenseInfo:
    """One module license as a tenant sees it: from the catalog, or a partner owner's."""

    full_name: str
    owner: str
    module: str
    type: LicenseType
    description: str
    tooltip: str | None
    hidden: bool
    unrestricted: bool
    prerequisite: str | None  # canonical full name
    allowed_user_types: frozenset[UserType]
    is_plan_license: bool


@dataclass
class TenantState:
    row: TenantRow
    catalog: Catalog
    seats: dict[str, SeatRow]
    addons: list[str]
    system: list[str]
    partner: dict[str, PartnerLicenseRow]

    @property
    def id(self) -> int:
        return self.row.id

    def purchased_plans(self) -> list[Plan]:
        return purchased_plans(self.catalog, ((item, seat.kind, seat.number) for item, seat in self.seats.items()))

    def licenses(self) -> TenantLicenses:
        partner_system = [name for name, row in self.partner.items() if row.type == "system"]
        return purchased_licenses(self.catalog, self.purchased_plans(), self.addons, [*self.system, *partner_system])

    def holdings(self) -> Holdings:
        return Holdings(
            id=self.id,
            name=self.row.name,
            catalog=self.catalog,
            seats={item: (seat.kind, seat.number) for item, seat in self.seats.items()},
            addons=tuple(self.addons),
            system=tuple(self.system),
            partner_system=tuple(name for name, row in self.partner.items() if row.type == "system"),
        )

    def seat_total(self, item: str) -> int:
        seat = self.seats.get(item)
        return seat.number if seat is not None else 0

    def get_license(self, name: str) -> LicenseInfo | None:
        parsed = parse_license_name(name)
        if parsed.owner == SUPEROFFICE:
            found = self.catalog.licenses.get(parsed.module)
            if found is None:
                return None
            return LicenseInfo(
                full_name=found.full_name,
                owner=found.owner,
                module=found.name,
                type=found.type,
                description=found.description,
                tooltip=found.tooltip,
                hidden=found.hidden,
                unrestricted=found.unrestricted,
                prerequisite=f"superoffice.{found.prerequisite}" if found.prerequisite else None,
                allowed_user_types=found.allowed_user_types,
                is_plan_license=found.name in self.catalog.plan_license_names,
            )
        partner = self.partner.get(parsed.full)
        if partner is None:
            return None
        return LicenseInfo(
            full_name=partner.full_name,
            owner=parsed.owner,
            module=parsed.module,
            type=LicenseType.USER if partner.type == "user" else LicenseType.SYSTEM,
            description=partner.description,
            tooltip=None,
            hidden=False,
            unrestricted=partner.unrestricted,
            prerequisite=None,
            allowed_user_types=frozenset(UserType) if partner.type == "user" else frozenset(),
            is_plan_license=False,
        )

    def require_license(self, name: str) -> LicenseInfo:
        found = self.get_license(name)
        if found is None:
            raise UnknownLicense(
                f"tenant {self.row.name!r} (generation {self.row.generation}) has no module license {name!r}",
                name=name,
                tenant=self.row.name,
            )
        return found

    def snapshot(self) -> dict[str, Any]:
        """The tenant's purchases, as the audit log keeps them after every change."""
        partner_system = sorted(name for name, row in self.partner.items() if row.type == "system")
        return {
            "generation": self.row.generation,
            "seats": {item: seat.number for item, seat in sorted(self.seats.items())},
            "addons": sorted(self.addons),
            "system": sorted({*self.system, *partner_system}),
        }


def purchased_plans(catalog: Catalog, seats: Iterable[tuple[str, str, int]]) -> list[Plan]:
    """The plans of the (item, kind, number) seats bought: those of kind plan, at least one."""
    return [require_plan(catalog, item) for item, kind, number in seats if kind == "plan" and number > 0]


def purchased_licenses(
    catalog: Catalog, plans: Iterable[Plan], addons: Iterable[str], system: Iterable[str]
) -> TenantLicenses:
    """A tenant's system licenses from what it bought: the generation's, its plans', its add-ons', and the
    system licenses bought alone (its own and its partner owners')."""
    return tenant_licenses(catalog, plans=plans, addons=addons, system=system)


@dataclass(frozen=True)
class Holdings:
    """What a tenant bought, as plain values: what a move reads of a tenant (from its loaded state, or read
    with many others at once for a cohort's plan)."""

    id: int
    name: str
    catalog: Catalog
    seats: Mapping[str, tuple[str, int]]  # plan key or license name -> (kind, number)
    addons: tuple[str, ...]
    system: tuple[str, ...]  # system licenses bought alone
    partner_system: tuple[str, ...]  # partner owners' system licenses

    def purchased_plans(self) -> list[Plan]:
        return purchased_plans(self.catalog, ((item, kind, number) for item, (kind, number) in self.seats.items()))

    def licenses(self) -> TenantLicenses:
        return purchased_licenses(
            self.catalog, self.purchased_plans(), self.addons, [*self.system, *self.partner_system]
        )


def require_tenant_row(ctx: Context, name: str) -> TenantRow:
    row = TenantRepository(ctx.session).get_by_name(name)
    if row is None:
        raise UnknownTenant(f"no tenant {name!r}", tenant=name)
    return row


def load_state(ctx: Context, tenant: str, *, lock: bool = False) -> TenantState:
    """The tenant's state; with `lock`, its row is locked so concurrent changes to it serialise."""
    row = require_tenant_row(ctx, tenant)
    if lock:
        row = TenantRepository(ctx.session).lock(row.id)
    purchases = PurchaseRepository(ctx.session)
    return TenantState(
        row=row,
        catalog=ctx.catalog(row.generation),
        seats=purchases.seats(row.id),
        addons=purchases.addons(row.id),
        system=purchases.system(row.id),
        partner=purchases.partner_licenses(row.id),
    )


def require_user(ctx: Context, state: TenantState, name: str) -> UserRow:
    row = UserRepository(ctx.session).get(state.id, name)
    if row is None:
        raise UnknownUser(f"tenant {state.row.name!r} has no user {name!r}", tenant=state.row.name, user=name)
    return row


def resolve_user(
    ctx: Context, state: TenantState, user: UserRow, *, tenant: TenantLicenses | None = None
) -> Resolution:
    users = UserRepository(ctx.session)
    plan_key = users.plan(state.id, user.id)
    plan = require_plan(state.catalog, plan_key) if plan_key else None
    return resolve(state.catalog, tenant or state.licenses(), plan=plan, direct=users.licenses(state.id, user.id))
