"""Tenant use cases: create and list tenants; buy seats, add-ons, system licenses and partner licenses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any

from lisens.db.models import PartnerLicenseRow, TenantRow
from lisens.db.repositories import (
    AuditRepository,
    PurchaseRepository,
    SubscriptionRepository,
    TagRepository,
    TenantRepository,
    UserRepository,
)
from lisens.domain.engine import require_plan
from lisens.domain.errors import AlreadyExists, Code, Conflict, InvalidInput, NotAssignable, NotFound, SeatsBelowInUse
from lisens.domain.model import LicenseType
from lisens.domain.names import SUPEROFFICE, is_combined, parse_license_name, seat_kind
from lisens.domain.seats import SeatCount
from lisens.domain.times import utc
from lisens.service.clock import change_time, not_before_log
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.results import (
    AddonChangeRead,
    AppliedLoweringRead,
    GenerationsReportRead,
    OwnerRead,
    PartnerLicenseAddedRead,
    SeatsLoweringRead,
    SeatsRead,
    SeatsUpgradeRead,
    SystemLicenseChangeRead,
    TenantRead,
    TenantSummaryRead,
)
from lisens.service.scheduling import schedulable
from lisens.service.state import TenantState, load_state, require_tenant_row
from lisens.service.users import switch_plan

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
OWNER_RE = re.compile(r"[A-Z0-9]{1,100}")


def _changed(
    ctx: Context, state: TenantState, *, at: datetime, action: str, subject: str, before: dict[str, Any]
) -> None:
    """Record a tenant-level change in the audit log and invalidate cached resolutions."""
    fresh = load_state(ctx, state.row.name)
    AuditRepository(ctx.session).add(
        state.id, at=utc(at), actor=ctx.actor, action=action, subject=subject, before=before, after=fresh.snapshot()
    )
    state.row.version += 1
    ctx.session.flush()


def create_tenant(
    ctx: Context, *, name: str, generation: str, company: str = "", serial: str = "", at: datetime | None = None
) -> TenantRead:
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"tenant name {name!r} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code=Code.INVALID_NAME,
            value=name,
        )
    catalog = ctx.catalog(generation)
    tenants = TenantRepository(ctx.session)
    if tenants.get_by_name(name) is not None:
        raise AlreadyExists(f"tenant {name!r} exists already", code=Code.TENANT_EXISTS, tenant=name)
    row = tenants.add(
        TenantRow(
            name=name, generation=catalog.generation, company=company, serial=serial, created_at=ctx.now(), version=0
        )
    )
    at = row.created_at = change_time(ctx, row, at)
    state = load_state(ctx, name)
    AuditRepository(ctx.session).add(
        row.id, at=at, actor=ctx.actor, action="tenant.create", subject=name, after=state.snapshot()
    )
    return tenant_view(ctx, state)


def tenant_view(ctx: Context, state: TenantState) -> TenantRead:
    row = state.row
    owners = PurchaseRepository(ctx.session).owners(row.id)
    return TenantRead(
        name=row.name,
        generation=row.generation,
        company=row.company,
        serial=row.serial,
        created_at=utc(row.created_at).isoformat(),
        owners=[SUPEROFFICE, *sorted(owners)],
        seats={item: seat.number for item, seat in sorted(state.seats.items())},
        addons=state.addons,
        system=state.system,
        partner_licenses={
            name: {"type": lic.type, "unrestricted": lic.unrestricted, "description": lic.description}
            for name, lic in sorted(state.partner.items())
        },
        users=UserRepository(ctx.session).count(row.id),
        tags=TagRepository(ctx.session).of(row.id),
    )


def list_tenants(ctx: Context, *, after: str | None = None, limit: int | None = None) -> list[TenantSummaryRead]:
    """Tenants by name; with `limit`, a page of them after the name `after`."""
    repo = TenantRepository(ctx.session)
    rows = repo.all() if limit is None else repo.page(after=after, limit=limit)
    return [
        TenantSummaryRead(name=row.name, generation=row.generation, company=row.company, serial=row.serial)
        for row in rows
    ]


def show_tenant(ctx: Context, name: str) -> TenantRead:
    return tenant_view(ctx, load_state(ctx, name))


def seat_item(state: TenantState, text: str) -> tuple[str, str]:
    """(kind, canonical item) for a plan key, a combined plan `a+b` or a user license name."""
    if is_combined(text) or text in state.catalog.plans:
        return "plan", require_plan(state.catalog, text).key
    info = state.get_license(text)
    if info is None:
        known = ", ".join(state.catalog.plans) or "none"
        raise NotFound(
            f"{text!r} is neither a plan of generation {state.catalog.generation} (plans: {known}) "
            f"nor a module license of tenant {state.row.name!r}",
            code=Code.UNKNOWN_PLAN_OR_LICENSE,
            item=text,
        )
    if info.type is not LicenseType.USER:
        raise NotAssignable(
            f"{info.full_name} is a system license: it is bought with `lisens system add`, not in seats",
            code=Code.SYSTEM_LICENSE_NOT_ASSIGNABLE,
            item=text,
        )
    if info.is_plan_license:
        plans = [p.key for p in state.catalog.plans.values() if p.plan_license == info.module]
        raise NotAssignable(
            f"{info.full_name} is a plan license; buy seats of a plan instead "
            f"({', '.join(plans) or 'a combined plan a+b'})",
            code=Code.PLAN_LICENSE_NOT_ASSIGNABLE,
            item=text,
        )
    if info.hidden:
        raise NotAssignable(
            f"{info.full_name} is hidden: it comes with plans and is not sold on its own",
            code=Code.LICENSE_HIDDEN,
            item=text,
        )
    return "license", info.full_name


@schedulable
def set_seats(ctx: Context, tenant: str, item: str, number: int, *, at: datetime | None = None) -> SeatsRead:
    """Set how many of a plan or a user license the tenant has; never below what is in use.

    With a subscription, a lowering waits for the end of the current term (the contract end during
    the first 12 months); a raise applies at once (and is invoiced pro rata).
    """
    if number < 0:
        raise InvalidInput(f"number of seats {number} must be 0 or more", code=Code.INVALID_NUMBER, value=number)
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    kind, key = seat_item(state, item)
    holders = _holders(ctx, state, kind, key)
    contract = contract_of(ctx, state.id)
    current = state.seat_total(key)
    subscriptions = SubscriptionRepository(ctx.session)
    if contract is not None and number < current:
        term = contract.term_at(utc(at).date())
        if term is not None:
            subscriptions.schedule(state.id, effective=term.end, item=key, number=number, requested_at=utc(at))
            AuditRepository(ctx.session).add(
                state.id,
                at=utc(at),
                actor=ctx.actor,
                action="seats.schedule",
                subject=key,
                after={"item": key, "number": number, "effective": term.end.isoformat()},
            )
            return SeatsRead(
                item=key,
                kind=kind,
                total=current,
                in_use=len(holders),
                free=SeatCount(current, len(holders)).free,
                scheduled=SeatsLoweringRead(effective=term.end.isoformat(), number=number),
            )
    if number < len(holders):
        raise _below_in_use(key, holders, number)
    if contract is not None:
        subscriptions.cancel_scheduled(state.id, key)  # the latest wish for this item wins
    apply_seats(ctx, tenant, kind=kind, item=key, number=number, at=at)
    return SeatsRead(
        item=key,
        kind=kind,
        total=number,
        in_use=len(holders),
        free=SeatCount(number, len(holders)).free,
    )


def _holders(ctx: Context, state: TenantState, kind: str, key: str) -> list[str]:
    users = UserRepository(ctx.session)
    return users.holders_of_plan(state.id, key) if kind == "plan" else users.holders_of_license(state.id, key)


def _below_in_use(key: str, holders: list[str], number: int) -> SeatsBelowInUse:
    return SeatsBelowInUse(
        f"{key}: {len(holders)} in use, cannot lower the total to {number}; "
        f"unassign {len(holders) - number} of: {', '.join(holders)}",
        item=key,
        in_use=len(holders),
        total=number,
        remove=len(holders) - number,
        holders=holders,
    )


def apply_due_schedules(ctx: Context, tenant: str, *, at: datetime | None = None) -> list[AppliedLoweringRead]:
    """Apply the scheduled lowerings whose date has come, each dated on its renewal day.

    Called before any later change is recorded, so the purchase history stays in time order. A
    lowering never goes below what is in use then: the seats stay at the number in use, and the
    report lists the holders, of whom that many more than asked must be unassigned.
    """
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    repo = SubscriptionRepository(ctx.session)
    day = utc(at).date()
    applied: list[AppliedLoweringRead] = []
    for row in repo.scheduled(state.id):
        if row.effective > day:
            continue
        kind = seat_kind(row.item)
        holders = _holders(ctx, state, kind, row.item)
        number = max(row.number, len(holders))
        effective = not_before_log(state.row, datetime.combine(row.effective, time(0), tzinfo=UTC))
        apply_seats(ctx, tenant, kind=kind, item=row.item, number=number, at=effective, action="seats.renewal")
        row.applied_at = utc(at)
        over = len(holders) - row.number
        applied.append(
            AppliedLoweringRead(
                effective=row.effective.isoformat(),
                item=row.item,
                asked=row.number,
                total=number,
                unassign=holders[:over] if over > 0 else [],
                holders=holders if over > 0 else [],
            )
        )
    return applied


def apply_seats(
    ctx: Context, tenant: str, *, kind: str, item: str, number: int, at: datetime, action: str = "seats.set"
) -> None:
    """Write a seat number (already checked) and record it: the audit snapshot is what billing reads."""
    state = load_state(ctx, tenant, lock=True)
    before = state.snapshot()
    PurchaseRepository(ctx.session).set_seats(state.id, kind=kind, item=item, number=number)
    _changed(ctx, state, at=at, action=action, subject=item, before=before)


@schedulable
def upgrade_seats(
    ctx: Context,
    tenant: str,
    *,
    from_plan: str,
    to_plan: str,
    number: int,
    users: Sequence[str] = (),
    at: datetime | None = None,
) -> SeatsUpgradeRead:
    """Move `number` seats from one plan to another at once (Essential -> Premium), switching `users`.

    Applied immediately, as one change: the invoice charges the price difference pro rata.
    """
    if number <= 0:
        raise InvalidInput(f"number of seats {number} must be 1 or more", code=Code.INVALID_NUMBER, value=number)
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    kind_from, source = seat_item(state, from_plan)
    kind_to, target = seat_item(state, to_plan)
    if kind_from != "plan" or kind_to != "plan" or source == target:
        raise InvalidInput(
            f"an upgrade moves seats between two different plans, not {from_plan!r} -> {to_plan!r}",
            code=Code.INVALID_UPGRADE,
        )
    remaining = state.seat_total(source) - number
    if remaining < 0:
        raise InvalidInput(
            f"{source} has {state.seat_total(source)} seats; cannot move {number}",
            code=Code.INVALID_NUMBER,
            value=number,
        )
    repo = UserRepository(ctx.session)
    holders = set(repo.holders_of_plan(state.id, source))
    unknown = [name for name in users if name not in holders]
    if unknown:
        raise NotFound(f"users {unknown!r} do not hold plan {source}", code=Code.NOT_ASSIGNED, users=unknown)
    if len(users) > number:
        raise InvalidInput(f"{len(users)} users named for {number} seats", code=Code.INVALID_NUMBER, value=number)
    staying = sorted(holders - set(users))
    if len(staying) > remaining:
        raise _below_in_use(source, staying, remaining)
    before = state.snapshot()
    purchases = PurchaseRepository(ctx.session)
    purchases.set_seats(state.id, kind="plan", item=target, number=state.seat_total(target) + number)
    purchases.set_seats(state.id, kind="plan", item=source, number=remaining)
    _changed(ctx, state, at=at, action="seats.upgrade", subject=f"{source} -> {target}", before=before)
    for name in users:
        switch_plan(ctx, tenant, name, target, at=at)
    return SeatsUpgradeRead(from_plan=source, to_plan=target, moved=number, switched=list(users))


@schedulable
def add_addon(ctx: Context, tenant: str, key: str, *, at: datetime | None = None) -> AddonChangeRead:
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    addon = state.catalog.require_addon(key)
    if addon.requires and addon.requires not in state.addons:
        raise Conflict(
            f"add-on {key!r} requires add-on {addon.requires!r}; add that first",
            code=Code.ADDON_REQUIRES,
            addon=key,
            requires=addon.requires,
        )
    if key in state.addons:
        return AddonChangeRead(addon=key, changed=False, addons=state.addons)
    before = state.snapshot()
    PurchaseRepository(ctx.session).add_addon(state.id, key)
    _changed(ctx, state, at=at, action="addon.add", subject=key, before=before)
    return AddonChangeRead(addon=key, changed=True, addons=sorted([*state.addons, key]))


@schedulable
def remove_addon(ctx: Context, tenant: str, key: str, *, at: datetime | None = None) -> AddonChangeRead:
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    state.catalog.require_addon(key)
    if key not in state.addons:
        raise NotFound(f"tenant {tenant!r} has no add-on {key!r}", code=Code.ADDON_NOT_PRESENT, addon=key)
    dependents = [a for a in state.addons if state.catalog.addons[a].requires == key]
    if dependents:
        raise Conflict(
            f"add-on {key!r} is required by {', '.join(dependents)}; remove those first",
            code=Code.ADDON_REQUIRED,
            addon=key,
            required_by=dependents,
        )
    before = state.snapshot()
    PurchaseRepository(ctx.session).remove_addon(state.id, key)
    _changed(ctx, state, at=at, action="addon.remove", subject=key, before=before)
    return AddonChangeRead(addon=key, changed=True, addons=[a for a in state.addons if a != key])


@schedulable
def add_system_license(ctx: Context, tenant: str, name: str, *, at: datetime | None = None) -> SystemLicenseChangeRead:
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    info = state.require_license(name)
    if info.type is LicenseType.USER:
        raise NotAssignable(
            f"{info.full_name} is a user license: buy seats with `lisens seats set`", code=Code.NOT_A_SYSTEM_LICENSE
        )
    if info.full_name in state.system:
        return SystemLicenseChangeRead(license=info.full_name, changed=False)
    before = state.snapshot()
    PurchaseRepository(ctx.session).add_system(state.id, info.full_name)
    _changed(ctx, state, at=at, action="system.add", subject=info.full_name, before=before)
    return SystemLicenseChangeRead(license=info.full_name, changed=True)


@schedulable
def remove_system_license(
    ctx: Context, tenant: str, name: str, *, at: datetime | None = None
) -> SystemLicenseChangeRead:
    apply_due_schedules(ctx, tenant, at=at)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    info = state.require_license(name)
    if info.full_name not in state.system:
        raise NotFound(
            f"tenant {tenant!r} did not buy system license {info.full_name} on its own",
            code=Code.SYSTEM_LICENSE_NOT_PRESENT,
        )
    before = state.snapshot()
    PurchaseRepository(ctx.session).remove_system(state.id, info.full_name)
    _changed(ctx, state, at=at, action="system.remove", subject=info.full_name, before=before)
    return SystemLicenseChangeRead(license=info.full_name, changed=True)


@schedulable
def add_owner(ctx: Context, tenant: str, owner: str, *, description: str = "", at: datetime | None = None) -> OwnerRead:
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    if not OWNER_RE.fullmatch(owner) or owner == SUPEROFFICE:
        raise InvalidInput(
            f"owner name {owner!r} must be upper case A-Z and 0-9, and not SUPEROFFICE", code=Code.INVALID_OWNER
        )
    purchases = PurchaseRepository(ctx.session)
    if owner in purchases.owners(state.id):
        raise AlreadyExists(f"tenant {tenant!r} has owner {owner!r} already", code=Code.OWNER_EXISTS)
    before = state.snapshot()
    purchases.add_owner(state.id, owner, description)
    _changed(ctx, state, at=at, action="owner.add", subject=owner, before=before)
    return OwnerRead(owner=owner, description=description)


@schedulable
def add_partner_license(
    ctx: Context,
    tenant: str,
    name: str,
    *,
    license_type: str,
    unrestricted: bool = False,
    description: str = "",
    at: datetime | None = None,
) -> PartnerLicenseAddedRead:
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    parsed = parse_license_name(name)
    owners = PurchaseRepository(ctx.session).owners(state.id)
    if parsed.owner not in owners:
        raise NotFound(
            f"{name!r}: tenant {tenant!r} has no license owner {parsed.owner!r}; add it with `lisens owner add`",
            code=Code.UNKNOWN_OWNER,
        )
    if license_type not in ("system", "user"):
        raise InvalidInput(f"license type {license_type!r} must be system or user", code=Code.INVALID_LICENSE_TYPE)
    if parsed.full in state.partner:
        raise AlreadyExists(f"tenant {tenant!r} has license {parsed.full} already", code=Code.LICENSE_EXISTS)
    before = state.snapshot()
    PurchaseRepository(ctx.session).add_partner_license(
        state.id,
        PartnerLicenseRow(
            owner_id=owners[parsed.owner].id,
            full_name=parsed.full,
            type=license_type,
            unrestricted=unrestricted,
            description=description,
        ),
    )
    _changed(ctx, state, at=at, action="owner.license", subject=parsed.full, before=before)
    return PartnerLicenseAddedRead(license=parsed.full, type=license_type, unrestricted=unrestricted)


__all__ = [
    "add_addon",
    "add_owner",
    "add_partner_license",
    "add_system_license",
    "create_tenant",
    "list_tenants",
    "remove_addon",
    "remove_system_license",
    "require_tenant_row",
    "set_seats",
    "show_tenant",
]


def generation_report(ctx: Context) -> GenerationsReportRead:
    """Per generation: its tenants, their seats per plan or license, and their users (tenants stay on
    their generation until they are moved)."""
    report: dict[str, Any] = {}
    repo = TenantRepository(ctx.session)
    counts = repo.user_counts()  # three queries in all, however many tenants
    for generation, name, tenant_id in repo.names_by_generation():
        entry = report.setdefault(generation, {"tenants": [], "seats": {}, "users": 0})
        entry["tenants"].append(name)
        entry["users"] += counts.get(tenant_id, 0)
    for (generation, item), total in repo.seat_totals().items():
        report.setdefault(generation, {"tenants": [], "seats": {}, "users": 0})["seats"][item] = total
    return GenerationsReportRead(
        {
            generation: {**entry, "seats": dict(sorted(entry["seats"].items()))}
            for generation, entry in sorted(report.items())
        }
    )
