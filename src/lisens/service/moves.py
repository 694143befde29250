"""Moving a tenant to another packaging generation: preview per user, apply atomically, roll back exactly."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from lisens.catalog.moves import load_mapping
from lisens.db.models import GenerationMoveRow, UserRow
from lisens.db.repositories import (
    AuditRepository,
    CohortRepository,
    GenerationMoveRepository,
    Member,
    PurchaseRepository,
    TenantRepository,
    UserRepository,
)
from lisens.domain.engine import TenantLicenses, require_plan, resolve
from lisens.domain.errors import Code, Conflict, InvalidInput, NotFound
from lisens.domain.model import Catalog, LicenseType, Plan
from lisens.domain.moves import PlanMapping, carried_licenses
from lisens.domain.names import is_license_item, seat_kind
from lisens.domain.times import utc
from lisens.service.clock import change_time, not_before_log
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.results import AppliedMoveRead, MovePreviewRead, MoveRead, MoveReportRead, MoveRollbackRead
from lisens.service.state import Holdings, TenantState, load_state, purchased_licenses


@dataclass(slots=True)
class UserMove:
    user_id: int
    name: str
    can_log_in: bool
    retired: bool
    plan_before: str | None
    plan_after: str | None
    direct_before: list[str]
    direct_after: list[str]
    gained: tuple[str, ...] = ()  # shared by the users who move alike: not to be changed
    lost: tuple[str, ...] = ()


@dataclass
class TenantMove:
    """Everything moving a tenant would write: computed by `move_tenant` (the one rule) for preview, apply,
    waves and a cohort's plan."""

    holdings: Holdings
    target: Catalog
    mapping: PlanMapping
    moves: list[UserMove]
    seats_before: dict[str, int]
    seats_after: dict[str, int]
    addons_kept: list[str]
    addons_dropped: list[str]
    system_kept: list[str]
    system_dropped: list[str]
    tenant_plan: str | None


@dataclass
class MovePlan(TenantMove):
    """A tenant's move with the state it was computed from (its row, locked when the move is to be made)."""

    state: TenantState

    @classmethod
    def of(cls, move: TenantMove, state: TenantState) -> MovePlan:
        return cls(state=state, **{f.name: getattr(move, f.name) for f in fields(TenantMove)})


# (source plan key, direct licenses) -> (target plan, direct licenses kept)
UserKey = tuple[str | None, tuple[str, ...]]
# A memo forgets what it holds beyond this many entries of a kind: it saves work, it must not grow with a
# cohort whose users are all unlike.
MEMO_ENTRIES = 100_000


class MoveMemo:
    """What the moves of many users and tenants share, worked out once: most users hold one of a few plans
    with the same direct licenses, and most tenants buy the same few things. A memo serves the moves from
    one catalog to another with one mapping: a cohort's plan keeps one per source generation; `move_tenant`
    makes its own when given none (or one for other catalogs)."""

    def __init__(self, source: Catalog, target: Catalog, mapping: PlanMapping) -> None:
        self.source, self.target, self.mapping = source, target, mapping
        self.users: dict[UserKey, tuple[Plan | None, tuple[str, ...]]] = {}
        self.held: dict[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], TenantLicenses] = {}
        self.changes: dict[tuple[object, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # Price-list and tier markers and plan licenses change with every move; apps check features.
        self.markers = frozenset(f"superoffice.{name}" for name in source.markers | target.markers)

    def user(self, plan_key: str | None, direct: tuple[str, ...]) -> tuple[Plan | None, tuple[str, ...]]:
        """The plan a user of `plan_key` with `direct` licenses gets, and the direct licenses they keep."""
        found = self.users.get((plan_key, direct))
        if found is None:
            _bounded(self.users)
            plan = require_plan(self.source, plan_key) if plan_key else None
            wanted = self.mapping.target_plan(self.source, self.target, plan, direct)
            kept, _ = carried_licenses(self.target, direct)
            found = self.users[(plan_key, direct)] = (wanted, tuple(kept))
        return found

    def licenses(
        self, catalog: Catalog, plans: Sequence[str], addons: Sequence[str], system: Sequence[str]
    ) -> TenantLicenses:
        key = (catalog.generation, tuple(plans), tuple(addons), tuple(system))
        found = self.held.get(key)
        if found is None:
            _bounded(self.held)
            found = self.held[key] = purchased_licenses(
                catalog, [require_plan(catalog, item) for item in plans], addons, system
            )
        return found

    def change(
        self, before: TenantLicenses, after: TenantLicenses, move: UserMove
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(gained, lost) by a user moving with their plan and direct licenses before and after."""
        shape = (
            before.held,
            after.held,
            move.plan_before,
            tuple(move.direct_before),
            move.plan_after,
            tuple(move.direct_after),
        )
        found = self.changes.get(shape)
        if found is None:
            _bounded(self.changes)
            held_before = _held(self.source, before, move.plan_before, move.direct_before)
            held_after = _held(self.target, after, move.plan_after, move.direct_after)
            found = self.changes[shape] = (
                tuple(sorted(held_after - held_before - self.markers)),
                tuple(sorted(held_before - held_after - self.markers)),
            )
        return found


def _held(catalog: Catalog, licenses: TenantLicenses, plan: str | None, direct: Sequence[str]) -> frozenset[str]:
    """What a user of `plan` with `direct` licenses holds in `catalog` with the tenant's `licenses`."""
    return resolve(catalog, licenses, plan=require_plan(catalog, plan) if plan else None, direct=direct).held


def _bounded(memo: dict[Any, Any]) -> None:
    if len(memo) >= MEMO_ENTRIES:
        memo.clear()


def assignments(ctx: Context, state: TenantState) -> tuple[list[UserRow], dict[int, str], dict[int, list[str]]]:
    """Every user of the tenant with their plan key and direct licenses, in three queries over the whole
    tenant (no list of ids: a tenant may have more users than a statement may carry parameters)."""
    users = UserRepository(ctx.session)
    return list(users.all(state.id)), users.all_plans(state.id), users.all_licenses(state.id)


def members(ctx: Context, state: TenantState) -> list[Member]:
    """Every user of the tenant, by name, with their plan and direct licenses (two statements)."""
    return CohortRepository(ctx.session).members([state.id])[state.id]


def move_tenant(
    holdings: Holdings,
    users: Sequence[Member],
    target: Catalog,
    mapping: PlanMapping,
    *,
    memo: MoveMemo | None = None,
) -> TenantMove:
    """What moving a tenant (what it bought, and its users) to `target` with `mapping` would write: each
    user's plan and direct licenses, the licenses each gains and loses, seats, add-ons and system licenses.
    Pure: the same inputs give the same move; `memo` (for `holdings.catalog` and `target`) only saves work."""
    source = holdings.catalog
    if memo is None or memo.source is not source or memo.target is not target or memo.mapping is not mapping:
        memo = MoveMemo(source, target, mapping)

    moves: list[UserMove] = []
    wanted: list[Plan | None] = []
    for user in users:
        new_plan, kept = memo.user(user.plan, user.direct)
        wanted.append(None if user.retired else new_plan)
        moves.append(
            UserMove(user.id, user.name, user.can_log_in, user.retired, user.plan, None, list(user.direct), list(kept))
        )

    tenant_plan: str | None = None
    if target.tenant_plan:
        needed = [plan.key for plan in wanted if plan is not None]
        tenant_plan = (
            mapping.highest(needed) if needed else (mapping.rank[0] if mapping.rank else next(iter(target.plans)))
        )
        for move in moves:
            move.plan_after = tenant_plan if move.can_log_in and not move.retired else None
    else:
        for move, plan in zip(moves, wanted, strict=True):
            move.plan_after = plan.key if plan else None

    seats_before = {item: number for item, (_, number) in holdings.seats.items()}
    seats_after = _seats_after(holdings, target, memo, moves, tenant_plan)
    addons_kept = [key for key in holdings.addons if key in target.addons]
    system_kept = [
        name
        for name in holdings.system
        if name.partition(".")[2] in target.licenses or not name.startswith("superoffice.")
    ]

    source_held = memo.licenses(
        source,
        [item for item, (kind, number) in holdings.seats.items() if kind == "plan" and number > 0],
        holdings.addons,
        [*holdings.system, *holdings.partner_system],
    )
    # A partner owner's licenses do not depend on the packaging: a move keeps its system licenses, as it
    # keeps its user licenses (docs/decisions.md 67), so its users hold them after the move as before.
    target_held = memo.licenses(
        target,
        [key for key, number in seats_after.items() if number > 0 and not is_license_item(key)],
        addons_kept,
        [*system_kept, *holdings.partner_system],
    )
    for move in moves:
        if move.retired:
            continue
        move.gained, move.lost = memo.change(source_held, target_held, move)
    return TenantMove(
        holdings=holdings,
        target=target,
        mapping=mapping,
        moves=moves,
        seats_before=seats_before,
        seats_after=seats_after,
        addons_kept=addons_kept,
        addons_dropped=[key for key in holdings.addons if key not in addons_kept],
        system_kept=system_kept,
        system_dropped=[name for name in holdings.system if name not in system_kept],
        tenant_plan=tenant_plan,
    )


def _compute(ctx: Context, state: TenantState, to: str) -> MovePlan:
    source = state.catalog
    target = ctx.catalog(to)
    if target.generation == source.generation:
        raise InvalidInput(f"tenant {state.row.name!r} is on generation {to} already", code=Code.SAME_GENERATION)
    mapping = load_mapping(source.generation, target.generation, ctx.catalog_dir)
    return MovePlan.of(move_tenant(state.holdings(), members(ctx, state), target, mapping), state)


def compute(ctx: Context, state: TenantState, to: str) -> MovePlan:
    """What moving the tenant to `to` would write: users' plans and licenses, seats, add-ons (changes nothing)."""
    return _compute(ctx, state, to)


def _seats_after(
    holdings: Holdings, target: Catalog, memo: MoveMemo, moves: list[UserMove], tenant_plan: str | None
) -> dict[str, int]:
    """Seats in the target: what was bought moves to the mapped plan, never fewer than the users it needs."""
    holders = Counter(move.plan_after for move in moves if move.plan_after)
    after: Counter[str] = Counter()
    for item, (kind, number) in holdings.seats.items():
        if kind == "plan":
            if tenant_plan is not None:
                after[tenant_plan] += number
                continue
            mapped, _ = memo.user(item, ())
            if mapped is not None:
                after[mapped.key] += number
        else:
            module = item.partition(".")[2]
            license_ = target.licenses.get(module)
            if (
                license_ is not None
                and license_.type is LicenseType.USER
                and not license_.hidden
                and not license_.unrestricted
            ):
                after[item] += number
    for key, count in holders.items():
        after[key] = max(after[key], count)
    if tenant_plan is not None and after[tenant_plan] == 0:
        after[tenant_plan] = holders.get(tenant_plan, 0)
    return {key: number for key, number in sorted(after.items()) if number > 0}


def preview(ctx: Context, tenant: str, *, to: str) -> MovePreviewRead:
    """Per user the module licenses gained and lost (users who lose something first), per plan the seats."""
    plan = _compute(ctx, load_state(ctx, tenant), to)
    return MovePreviewRead.model_validate(_view(plan))


def _view(plan: MovePlan) -> dict[str, Any]:
    moves = sorted(plan.moves, key=lambda m: (not m.lost, m.name))
    items = sorted(set(plan.seats_before) | set(plan.seats_after))
    return {
        "tenant": plan.state.row.name,
        "from": plan.state.catalog.generation,
        "to": plan.target.generation,
        "mapping": {"description": plan.mapping.description, "provenance": plan.mapping.provenance.kind},
        "tenant_plan": plan.tenant_plan,
        "summary": {
            "users": len(moves),
            "losing": sum(1 for m in moves if m.lost),
            "gaining": sum(1 for m in moves if m.gained),
        },
        "users": [
            {
                "user": m.name,
                "from_plan": m.plan_before,
                "to_plan": m.plan_after,
                "lost": m.lost,
                "gained": m.gained,
                "dropped_direct": sorted(set(m.direct_before) - set(m.direct_after)),
            }
            for m in moves
        ],
        "seats": [
            {"item": item, "before": plan.seats_before.get(item, 0), "after": plan.seats_after.get(item, 0)}
            for item in items
        ],
        "addons": {"kept": plan.addons_kept, "dropped": plan.addons_dropped},
        "system": {"kept": plan.system_kept, "dropped": plan.system_dropped},
    }


def preview_csv(view: MovePreviewRead) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user", "from_plan", "to_plan", "lost", "gained"])
    for row in view.users:
        writer.writerow([row.user, row.from_plan or "", row.to_plan or "", " ".join(row.lost), " ".join(row.gained)])
    return out.getvalue()


def report(ctx: Context, *, to: str, progress: Callable[[int, int], None] | None = None) -> MoveReportRead:
    """Across all tenants that could move to `to`: how many users gain and lose which licenses.

    `progress(done, total)` is told after each tenant (a command line shows it as a bar)."""
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    tenants_seen, users_seen, losing = 0, 0, 0
    every = TenantRepository(ctx.session).all()
    for done, row in enumerate(every, start=1):
        if progress is not None:
            progress(done, len(every))
        if row.generation == to:
            continue
        state = load_state(ctx, row.name)
        try:
            plan = _compute(ctx, state, to)
        except NotFound:
            continue  # no mapping from this tenant's generation
        tenants_seen += 1
        for move in plan.moves:
            users_seen += 1
            losing += bool(move.lost)
            gained.update(move.gained)
            lost.update(move.lost)
    return MoveReportRead(
        to=to,
        tenants=tenants_seen,
        users=users_seen,
        users_losing=losing,
        gained=dict(gained.most_common()),
        lost=dict(lost.most_common()),
    )


def _full_state(ctx: Context, state: TenantState) -> dict[str, Any]:
    rows, plans, direct = assignments(ctx, state)
    return {
        **state.snapshot(),
        "kinds": {item: seat.kind for item, seat in state.seats.items()},
        "users": {str(row.id): {"plan": plans.get(row.id), "licenses": sorted(direct.get(row.id, []))} for row in rows},
    }


def apply(
    ctx: Context,
    tenant: str,
    *,
    to: str,
    at: datetime | None = None,
    at_renewal: bool = False,
    prepared: MovePlan | None = None,
) -> MoveRead:
    """Move the tenant now (all users or none), or schedule it for the next renewal.

    `prepared`: the move as `compute` found it in this transaction, under the tenant's lock (a wave
    checks it for blockers first), so it is not computed twice."""
    if prepared is not None and prepared.state.row.name == tenant and prepared.target.generation == to:
        state, plan = prepared.state, prepared
        at = change_time(ctx, state.row, at)
    else:
        state = load_state(ctx, tenant, lock=True)
        at = change_time(ctx, state.row, at)
        plan = _compute(ctx, state, to)  # refuses a missing mapping or the same generation before anything
    if at_renewal:
        contract = contract_of(ctx, state.id)
        renewal = contract.next_renewal(utc(at).date()) if contract else None
        if renewal is None:
            raise Conflict(
                f"tenant {tenant!r} has no renewal to wait for (no running subscription)", code=Code.NO_RENEWAL
            )
        GenerationMoveRepository(ctx.session).add(
            state.id,
            GenerationMoveRow(
                from_generation=state.row.generation,
                to_generation=plan.target.generation,
                state="scheduled",
                effective=renewal,
                requested_at=utc(at),
            ),
        )
        return MoveRead.model_validate({**_view(plan), "scheduled": renewal.isoformat(), "applied": False})
    _write(ctx, plan, at=at)
    return MoveRead.model_validate({**_view(plan), "applied": True})


def _write(ctx: Context, plan: MovePlan, *, at: datetime) -> None:
    state = plan.state
    moment = utc(at)
    before = _full_state(ctx, state)
    session = ctx.session
    moves = GenerationMoveRepository(session)
    moves.replace_seats(state.id, {item: (seat_kind(item), number) for item, number in plan.seats_after.items()})
    purchases = PurchaseRepository(session)
    for key in plan.addons_dropped:
        purchases.remove_addon(state.id, key)
    for name in plan.system_dropped:
        purchases.remove_system(state.id, name)
    moves.replace_plans(state.id, {m.user_id: m.plan_after for m in plan.moves if m.plan_after})
    dropped = [(m.user_id, name) for m in plan.moves for name in set(m.direct_before) - set(m.direct_after)]
    UserRepository(session).remove_licenses(state.id, dropped)
    state.row.generation = plan.target.generation
    moves.add(
        state.id,
        GenerationMoveRow(
            from_generation=plan.state.catalog.generation,
            to_generation=plan.target.generation,
            state="applied",
            effective=moment.date(),
            requested_at=moment,
            applied_at=moment,
            before=before,
        ),
    )
    record_snapshots(
        ctx,
        state.row.name,
        action="move.apply",
        subject=f"{plan.state.catalog.generation} -> {plan.target.generation}",
        at=moment,
    )


def record_snapshots(ctx: Context, tenant: str, *, action: str, subject: str, at: datetime) -> None:
    """One tenant snapshot and one snapshot per user, so history and invoices follow the move."""
    state = load_state(ctx, tenant)
    rows, plans, direct = assignments(ctx, state)
    AuditRepository(ctx.session).add(
        state.id, at=at, actor=ctx.actor, action=action, subject=subject, after=state.snapshot()
    )
    entries = [
        {
            "action": "assign",
            "subject": action,
            "user_id": row.id,
            "after": {
                "plan": plans.get(row.id),
                "licenses": sorted(direct.get(row.id, [])),
                "type": row.type,
                "can_log_in": row.can_log_in,
                "retired": row.retired,
            },
        }
        for row in rows
    ]
    AuditRepository(ctx.session).add_many(state.id, at=at, actor=ctx.actor, entries=entries)
    state.row.version += 1
    ctx.session.flush()


def rollback(ctx: Context, tenant: str, *, at: datetime | None = None) -> MoveRollbackRead:
    """Undo the last applied move: generation, seats, add-ons, system licenses and every assignment."""
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    moves = GenerationMoveRepository(ctx.session)
    move = moves.last_applied(state.id)
    if move is None or move.before is None:
        raise NotFound(f"tenant {tenant!r} has no applied move to roll back", code=Code.NO_MOVE)
    before = move.before
    session = ctx.session
    moves.replace_seats(
        state.id, {item: (before["kinds"].get(item, "plan"), number) for item, number in before["seats"].items()}
    )
    purchases = PurchaseRepository(session)
    for key in set(before["addons"]) - set(state.addons):
        purchases.add_addon(state.id, key)
    for name in (
        set(before["system"]) - set(state.system) - {n for n in before["system"] if not n.startswith("superoffice.")}
    ):
        purchases.add_system(state.id, name)
    moves.replace_plans(state.id, {int(uid): u["plan"] for uid, u in before["users"].items() if u["plan"]})
    moves.replace_licenses(state.id, [(int(uid), name) for uid, u in before["users"].items() for name in u["licenses"]])
    state.row.generation = before["generation"]
    move.state = "rolled-back"
    session.flush()
    record_snapshots(
        ctx,
        tenant,
        action="move.rollback",
        subject=f"{move.to_generation} -> {move.from_generation}",
        at=utc(at),
    )
    return MoveRollbackRead(tenant=tenant, generation=before["generation"], restored_users=len(before["users"]))


def apply_due(ctx: Context, tenant: str, *, at: datetime) -> list[AppliedMoveRead]:
    """Apply scheduled moves whose renewal has come (called by `subscription renew`)."""
    state = load_state(ctx, tenant, lock=True)
    due = GenerationMoveRepository(ctx.session).due(state.id, until=utc(at).date())
    applied = []
    for scheduled in due:
        plan = _compute(ctx, load_state(ctx, tenant, lock=True), scheduled.to_generation)
        effective = not_before_log(state.row, datetime.combine(scheduled.effective, datetime.min.time(), tzinfo=UTC))
        _write(ctx, plan, at=effective)
        scheduled.state = "superseded"
        applied.append(AppliedMoveRead(to=scheduled.to_generation, effective=scheduled.effective.isoformat()))
    return applied
