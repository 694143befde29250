"""User use cases: add and retire users, assign and unassign plans and licenses, check and explain."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from lisens.catalog.views import decision_view, grant_view
from lisens.db.models import UserRow
from lisens.db.repositories import AuditRepository, TenantRepository, UserRepository
from lisens.domain.decide import Decider, Holder, Term, decide, held, term_at
from lisens.domain.engine import Decision, Resolution, combine, require_plan
from lisens.domain.errors import (
    AlreadyExists,
    Code,
    InvalidCombination,
    InvalidInput,
    LisensError,
    NotAssignable,
    NotAssigned,
    PrerequisiteMissing,
    SeatLimitReached,
    UserRetired,
)
from lisens.domain.errors import BatchTooLarge as BatchTooLarge
from lisens.domain.model import LicenseType, Plan, UserType
from lisens.domain.names import plan_parts
from lisens.domain.seats import SeatCount
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Clock, Context
from lisens.service.decisions import day_at, day_of, holder_of, term_of
from lisens.service.fencing import tenant_plan
from lisens.service.results import (
    AssignmentRead,
    DecisionRead,
    EffectiveLicenseRead,
    UserChangeRead,
    UserCreatedRead,
    UserRead,
    UserStateRead,
    UserSummaryRead,
)
from lisens.service.scheduling import applied, schedulable
from lisens.service.state import (
    LicenseInfo,
    TenantState,
    load_state,
    require_tenant_row,
    require_user,
    resolve_user,
)

if TYPE_CHECKING:  # the cache resolves users through this module
    from lisens.service.cache import EffectiveLicenseCache, TenantView

USER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,253}")


def user_snapshot(ctx: Context, state: TenantState, user: UserRow) -> dict[str, Any]:
    """A user's assignments as the audit log records them (a JSON document kept in the log)."""
    users = UserRepository(ctx.session)
    return {
        "plan": users.plan(state.id, user.id),
        "licenses": users.licenses(state.id, user.id),
        "type": user.type,
        "can_log_in": user.can_log_in,
        "retired": user.retired,
    }


def _record(
    ctx: Context,
    state: TenantState,
    user: UserRow,
    *,
    at: datetime,
    action: str,
    subject: str,
    before: dict[str, Any] | None,
) -> dict[str, Any]:
    after = user_snapshot(ctx, state, user)
    AuditRepository(ctx.session).add(
        state.id,
        at=utc(at),
        actor=ctx.actor,
        action=action,
        subject=subject,
        user_id=user.id,
        before=before,
        after=after,
    )
    state.row.version += 1
    ctx.session.flush()
    return after


@schedulable
def add_user(
    ctx: Context,
    tenant: str,
    name: str,
    *,
    user_type: str = "internal",
    can_log_in: bool = True,
    at: datetime | None = None,
) -> UserCreatedRead:
    if not USER_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"user name {name!r} must be 1-254 letters, digits and . _ @ + -, starting with a letter or digit",
            code=Code.INVALID_NAME,
            value=name,
        )
    try:
        kind = UserType(user_type)
    except ValueError:
        raise InvalidInput(
            f"user type {user_type!r} is not one of {', '.join(t.value for t in UserType)}",
            code=Code.INVALID_USER_TYPE,
            value=user_type,
        ) from None
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    users = UserRepository(ctx.session)
    if users.get(state.id, name) is not None:
        raise AlreadyExists(f"tenant {tenant!r} has a user {name!r} already", code=Code.USER_EXISTS, user=name)
    if state.catalog.tenant_plan and can_log_in:
        # Checked before the user is written: a refused user leaves nothing behind.
        plan = _require_tenant_plan(state)
        _take_seat(state, item=plan, label=f"plan {plan} (suite-user)", in_use=users.count_plan(state.id, plan))
    row = users.add(
        state.id, UserRow(name=name, type=kind.value, can_log_in=can_log_in, retired=False, created_at=utc(at))
    )
    after = _record(ctx, state, row, at=at, action="user.add", subject=name, before=None)
    if state.catalog.tenant_plan and can_log_in:
        # CRM Suite: a seat is a user who can log in, holding the tenant's plan.
        after = applied(assign(ctx, tenant, name, plans=[_require_tenant_plan(state)], at=at)).after.plain()
    return UserCreatedRead(user=name, id=row.id, **after)


def list_users(
    ctx: Context, tenant: str, *, after: str | None = None, limit: int | None = None
) -> list[UserSummaryRead]:
    """The tenant's users by name; with `limit`, a page of them after the name `after`."""
    state = load_state(ctx, tenant)
    users = UserRepository(ctx.session)
    if limit is None:
        rows = users.all(state.id)
        plans = users.all_plans(state.id)
    else:
        rows = users.page(state.id, after=after, limit=limit)
        plans = users.plans_of(state.id, [row.id for row in rows])
    return [
        UserSummaryRead(
            user=row.name,
            id=row.id,
            type=row.type,
            can_log_in=row.can_log_in,
            retired=row.retired,
            plan=plans.get(row.id),
        )
        for row in rows
    ]


def _require_tenant_plan(state: TenantState) -> str:
    plan = tenant_plan(state)
    if plan is None:
        raise SeatLimitReached(
            f"tenant {state.row.name!r} has no seats of any {state.catalog.name} plan",
            license="suite-user",
            total=0,
            in_use=0,
        )
    return plan


class Associate(Protocol):
    """What the checks of an assignment read of its user: a row, or a bulk's plain record of one."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


def _check_user_type(info_name: str, allowed: frozenset[UserType], user: Associate) -> None:
    if allowed and UserType(user.type) not in allowed:
        raise NotAssignable(
            f"{info_name} is for {', '.join(sorted(t.value for t in allowed))} users; {user.name!r} is {user.type}",
            code=Code.USER_TYPE_NOT_ALLOWED,
            license=info_name,
            user=user.name,
            user_type=user.type,
        )


def _assignable(state: TenantState, name: str, user: Associate) -> LicenseInfo:
    info = state.require_license(name)
    if info.type is not LicenseType.USER:
        raise NotAssignable(
            f"{info.full_name} is a system license: it is on for the whole tenant and is not assigned to users",
            code=Code.SYSTEM_LICENSE_NOT_ASSIGNABLE,
            license=info.full_name,
        )
    if info.is_plan_license:
        raise NotAssignable(
            f"{info.full_name} is a plan license: assign the plan (--plan) instead",
            code=Code.PLAN_LICENSE_NOT_ASSIGNABLE,
            license=info.full_name,
        )
    if info.hidden:
        raise NotAssignable(
            f"{info.full_name} is hidden: it comes with a plan and cannot be assigned by hand",
            code=Code.LICENSE_HIDDEN,
            license=info.full_name,
        )
    _check_user_type(info.full_name, info.allowed_user_types, user)
    return info


def _require_prerequisites(ctx: Context, state: TenantState, user: UserRow, *, removing: str | None = None) -> None:
    """Every directly assigned license still has its prerequisite after the change."""
    resolution = resolve_user(ctx, state, user)
    for name in UserRepository(ctx.session).licenses(state.id, user.id):
        info = state.get_license(name)
        if info is not None and info.prerequisite and not resolution.has_license(info.prerequisite):
            if removing:
                message = f"removing {removing} would leave {name} without its prerequisite {info.prerequisite}"
            else:
                message = f"{name} needs {info.prerequisite}, which user {user.name!r} does not hold"
            raise PrerequisiteMissing(message, license=name, prerequisite=info.prerequisite, user=user.name)


def _take_seat(state: TenantState, *, item: str, label: str, in_use: int) -> None:
    _require_seat(item=item, label=label, total=state.seat_total(item), in_use=in_use)


def _require_seat(*, item: str, label: str, total: int, in_use: int) -> None:
    if not SeatCount(total, in_use).can_take():
        raise SeatLimitReached(
            f"no free seat of {label}: {in_use} in use of {total}",
            license=label,
            item=item,
            total=total,
            in_use=in_use,
        )


def plan_for(state: TenantState, keys: Sequence[str]) -> Plan:
    if len(keys) == 1:
        return require_plan(state.catalog, keys[0])
    return combine(state.catalog, keys)


@schedulable
def assign(
    ctx: Context,
    tenant: str,
    user_name: str,
    *,
    plans: Sequence[str] = (),
    licenses: Sequence[str] = (),
    at: datetime | None = None,
) -> AssignmentRead:
    """Assign a plan (several plans: their combined plan) and/or user licenses, in one transaction."""
    if not plans and not licenses:
        raise InvalidInput("nothing to assign: give plans or licenses", code=Code.NOTHING_TO_ASSIGN)
    if not licenses:
        done = _assign_plan(ctx, tenant, user_name, plans, at)
        if done is not None:
            return done
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    user = require_user(ctx, state, user_name)
    if user.retired:
        raise UserRetired(f"user {user_name!r} is retired and holds no licenses", user=user_name)
    users = UserRepository(ctx.session)
    before = user_snapshot(ctx, state, user)
    if plans:
        plan = plan_for(state, plans)
        if state.catalog.tenant_plan and plan.key != tenant_plan(state):
            raise InvalidCombination(
                f"in {state.catalog.name} every user holds the tenant's plan ({tenant_plan(state) or 'none bought'}), "
                f"not {plan.key}; change the tenant's plan instead",
                code=Code.NOT_TENANT_PLAN,
                plan=plan.key,
            )
        _check_user_type(f"plan {plan.key}", state.catalog.licenses[plan.plan_license].allowed_user_types, user)
        if plan.key != before["plan"]:
            if not plan.unrestricted:
                _take_seat(
                    state,
                    item=plan.key,
                    label=f"plan {plan.key} ({plan.plan_license})",
                    in_use=users.count_plan(state.id, plan.key),
                )
            users.set_plan(state.id, user.id, plan.key)
    held = set(before["licenses"])
    for name in dict.fromkeys(licenses):
        info = _assignable(state, name, user)
        if info.full_name in held:
            continue
        if not info.unrestricted:
            _take_seat(
                state, item=info.full_name, label=info.full_name, in_use=users.count_license(state.id, info.full_name)
            )
        users.add_license(state.id, user.id, info.full_name)
        held.add(info.full_name)
    _require_prerequisites(ctx, state, user)
    after = _record(ctx, state, user, at=at, action="assign", subject=",".join([*plans, *licenses]), before=before)
    return AssignmentRead(
        user=user_name,
        before=UserStateRead.model_validate(before),
        after=UserStateRead.model_validate(after),
        changed=before != after,
    )


def _assign_plan(
    ctx: Context, tenant: str, user_name: str, keys: Sequence[str], at: datetime | None
) -> AssignmentRead | None:
    """The common assignment: a plan to a user who holds no license directly, outside CRM Suite.

    The same checks, answers and log entry as the general path below, in four statements under the
    tenant's lock (the lock; the user, its plan and the plan's seats in one query; the plan; the log
    entry with the tenant's new head and version) instead of loading the tenant's whole state. None
    when the general path must decide; it is called in the same transaction and answers the same.
    """
    ctx.session.flush()
    row = require_tenant_row(ctx, tenant)
    generation = row.generation
    catalog = ctx.catalog(generation)
    if catalog.tenant_plan:
        return None
    try:
        plan = require_plan(catalog, keys[0]) if len(keys) == 1 else combine(catalog, keys)
    except LisensError:
        return None  # refused by the general path, after the checks that come first there
    locked = TenantRepository(ctx.session).lock(row.id)
    if locked.generation != generation:
        return None
    at = change_time(ctx, locked, at)
    users = UserRepository(ctx.session)
    view = users.assignment_view(locked.id, user_name, plan.key)
    if view is None or view.retired or view.direct_licenses:
        return None
    before: dict[str, Any] = {
        "plan": view.plan_key,
        "licenses": [],
        "type": view.type,
        "can_log_in": view.can_log_in,
        "retired": view.retired,
    }
    user = UserRow(id=view.id, name=user_name, type=view.type)
    _check_user_type(f"plan {plan.key}", catalog.licenses[plan.plan_license].allowed_user_types, user)
    if plan.key != view.plan_key:
        if not plan.unrestricted:
            _require_seat(
                item=plan.key,
                label=f"plan {plan.key} ({plan.plan_license})",
                total=view.seat_total or 0,
                in_use=view.plan_holders,
            )
        users.put_plan(locked.id, view.id, plan.key, replace=view.plan_key is not None, defer=True)
    after = {**before, "plan": plan.key, "licenses": []}
    AuditRepository(ctx.session).add_entry(
        locked,
        at=utc(at),
        actor=ctx.actor,
        action="assign",
        subject=",".join(keys),
        user_id=view.id,
        before=before,
        after=after,
    )
    return AssignmentRead(
        user=user_name,
        before=UserStateRead.model_validate(before),
        after=UserStateRead.model_validate(after),
        changed=before != after,
    )


def switch_plan(
    ctx: Context, tenant: str, user_name: str, plan_key: str, *, at: datetime | None = None
) -> AssignmentRead:
    """Switch a user to another plan as part of an upgrade (the seats were moved already)."""
    return applied(assign(ctx, tenant, user_name, plans=list(plan_parts(plan_key)), at=at))


@schedulable
def unassign(
    ctx: Context,
    tenant: str,
    user_name: str,
    *,
    plan: bool = False,
    licenses: Sequence[str] = (),
    at: datetime | None = None,
) -> AssignmentRead:
    if not plan and not licenses:
        raise InvalidInput("nothing to unassign: give --plan or licenses", code=Code.NOTHING_TO_ASSIGN)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    user = require_user(ctx, state, user_name)
    users = UserRepository(ctx.session)
    before = user_snapshot(ctx, state, user)
    if plan:
        if before["plan"] is None:
            raise NotAssigned(f"user {user_name!r} holds no plan", user=user_name)
        users.set_plan(state.id, user.id, None)
    for name in licenses:
        full = state.require_license(name).full_name
        if full not in before["licenses"]:
            via = f"; it comes with plan {before['plan']}" if before["plan"] else ""
            raise NotAssigned(
                f"{full} is not assigned to user {user_name!r} directly{via}", user=user_name, license=full
            )
        users.remove_license(state.id, user.id, full)
    removed = ", ".join([*([f"plan {before['plan']}"] if plan else []), *licenses])
    _require_prerequisites(ctx, state, user, removing=removed)
    after = _record(ctx, state, user, at=at, action="unassign", subject=removed, before=before)
    return AssignmentRead(
        user=user_name,
        before=UserStateRead.model_validate(before),
        after=UserStateRead.model_validate(after),
        changed=before != after,
    )


@schedulable
def retire_user(ctx: Context, tenant: str, user_name: str, *, at: datetime | None = None) -> UserChangeRead:
    """Retire a user: every license removed and login turned off, in one step."""
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    user = require_user(ctx, state, user_name)
    users = UserRepository(ctx.session)
    before = user_snapshot(ctx, state, user)
    users.set_plan(state.id, user.id, None)
    for name in before["licenses"]:
        users.remove_license(state.id, user.id, name)
    user.retired = True
    user.can_log_in = False
    after = _record(ctx, state, user, at=at, action="user.retire", subject=user_name, before=before)
    return UserChangeRead(
        user=user_name, before=UserStateRead.model_validate(before), after=UserStateRead.model_validate(after)
    )


@schedulable
def set_can_log_in(
    ctx: Context, tenant: str, user_name: str, can_log_in: bool, *, at: datetime | None = None
) -> UserChangeRead:
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    user = require_user(ctx, state, user_name)
    if user.retired and can_log_in:
        raise UserRetired(f"user {user_name!r} is retired and cannot log in", user=user_name)
    before = user_snapshot(ctx, state, user)
    if state.catalog.tenant_plan and can_log_in != user.can_log_in:
        # CRM Suite: logging in takes a seat of the tenant's plan; not logging in frees it.
        if can_log_in:
            assign(ctx, tenant, user_name, plans=[_require_tenant_plan(state)], at=at)
        elif before["plan"] is not None:
            UserRepository(ctx.session).set_plan(state.id, user.id, None)
    user.can_log_in = can_log_in
    after = _record(ctx, state, user, at=at, action="user.login", subject=user_name, before=before)
    return UserChangeRead(
        user=user_name, before=UserStateRead.model_validate(before), after=UserStateRead.model_validate(after)
    )


def _effective(state: TenantState, resolution: Resolution, names: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        info = state.get_license(name)
        rows.append(
            {
                "license": name,
                "type": info.type.label if info else "unknown",
                "description": info.description if info else "",
                "tooltip": info.tooltip if info else None,
                "hidden": info.hidden if info else False,
                "granted_by": [grant_view(g) for g in resolution.grants(name)],
            }
        )
    return rows


def show_user(ctx: Context, tenant: str, user_name: str) -> UserRead:
    """The user and the licenses they hold now, each with what grants it; `warning` in the grace period."""
    state = load_state(ctx, tenant)
    user = require_user(ctx, state, user_name)
    snapshot = user_snapshot(ctx, state, user)
    holder = holder_of(ctx, state, user)
    term = term_of(ctx, state)
    effective = _effective(state, holder.resolution, held(holder, term))
    return UserRead(
        user=user_name,
        id=user.id,
        tenant=tenant,
        **snapshot,
        effective=[EffectiveLicenseRead.model_validate(row) for row in effective],
        warning=term.warning if effective else None,
    )


def check(
    ctx: Context, tenant: str, user_name: str, names: Iterable[str], *, at: datetime | None = None
) -> list[DecisionRead]:
    """For each license name: held or not, the reason, the warning and what grants it (or would), at
    `at` (now by default). The rules are `lisens.domain.decide`'s."""
    state = load_state(ctx, tenant)
    user = require_user(ctx, state, user_name)
    return [
        DecisionRead.model_validate(decision_view(d))
        for d in decide(holder_of(ctx, state, user), list(names), term_of(ctx, state, at))
    ]


def license_term(term: Term) -> dict[str, str] | None:
    """The subscription's license dates at the term's moment, as JSON; None without a subscription."""
    dates = term.dates
    if dates is None:
        return None
    return {"expiry": dates.expiry.isoformat(), "grace": dates.grace.isoformat(), "status": dates.status.value}


# ---------------------------------------------------------------- batch checks

MAX_CHECK_PAIRS = 1_000_000  # users x licenses in one batch check
MAX_EXPLAINED_PAIRS = 100_000  # the same with `explain`: each held pair names what grants it


def require_batch_size(users: int, licenses: int, *, explain: bool) -> None:
    """Refuse a batch check of more (user, license) pairs than one request may answer, before any work."""
    limit = MAX_EXPLAINED_PAIRS if explain else MAX_CHECK_PAIRS
    pairs = users * licenses
    if pairs > limit:
        raise BatchTooLarge(
            f"{users} users x {licenses} licenses = {pairs} pairs; one check answers at most {limit}"
            f"{' with explain' if explain else ''}: split the users over several requests",
            users=users,
            licenses=licenses,
            pairs=pairs,
            limit=limit,
        )


@dataclass(frozen=True)
class BatchCheck:
    """The answer to a batch check: per user asked (in order), one decision per license asked.

    Users that hold the same licenses for the same reasons share one tuple of decisions, so the
    work and the memory grow with the distinct kinds of user, not with users x licenses.
    """

    licenses: tuple[str, ...]  # canonical names, in the order asked
    rows: list[tuple[str, tuple[Decision, ...]]]
    dates: dict[str, str] | None  # the subscription's license dates at the moment asked, if it has one
    version: int  # the tenant's version the answer was decided at


class CheckOptions(TypedDict):
    """How a batch check is asked, beyond whom and what: the same for both ways of answering it."""

    explain: bool
    at: datetime | None
    min_version: int | None


def check_batch(
    ctx: Context,
    cache: EffectiveLicenseCache,
    tenant: str,
    user_names: Sequence[str],
    names: Sequence[str],
    *,
    explain: bool,
    at: datetime | None = None,
    min_version: int | None = None,
) -> BatchCheck:
    """Every (user, license) pair: held, and why. Each kind of user is decided once (`Decider`).

    The answer is decided at a tenant version at least `min_version` (VERSION_NOT_REACHED otherwise)."""
    require_batch_size(len(user_names), len(names), explain=explain)
    view = cache.tenant(ctx, tenant, min_version=min_version)
    found = cache.users(ctx, view, user_names)
    return _decided(view, found, user_names, names, explain=explain, day=day_of(ctx, at))


def check_batch_in_memory(
    cache: EffectiveLicenseCache,
    clock: Clock,
    tenant: str,
    user_names: Sequence[str],
    names: Sequence[str],
    *,
    explain: bool,
    at: datetime | None = None,
    min_version: int | None = None,
    looked: bool = False,
) -> BatchCheck | None:
    """The answer `check_batch` gives, from the cache alone: None when anything must be read first.

    `looked`: the request's principal came through the cache's stamps already (`cached_principal` or
    `principal`), so the tenant's stamp needs no second look at the database."""
    require_batch_size(len(user_names), len(names), explain=explain)
    view = cache.cached_tenant(tenant, min_version=min_version, looked=looked)
    found = cache.cached_users(view, user_names) if view is not None else None
    if view is None or found is None:
        return None
    return _decided(view, found, user_names, names, explain=explain, day=day_at(clock, at))


def _decided(
    view: TenantView,
    found: Mapping[str, Holder | None],
    user_names: Sequence[str],
    names: Sequence[str],
    *,
    explain: bool,
    day: date,
) -> BatchCheck:
    term = term_at(view.contract, day)
    decider = Decider(names, term, explain=explain)
    rows = [(user, decider.decide(found.get(user))) for user in user_names]
    return BatchCheck(licenses=decider.licenses, rows=rows, dates=license_term(term), version=view.version)
