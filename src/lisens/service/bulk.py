"""Bulk assignment from CSV: all or nothing by default, every failing row reported with its reason.

Set-based, so that a 100,000-row bulk holds its tenant's lock (and, on SQLite, the database's write
lock) for seconds, not minutes: the tenant's state is loaded once, every row is checked in memory
against seat counts kept in memory (the same rules, in the same order, as `users.assign`), and only
then is anything written, with one statement per table (COPY on PostgreSQL, an executemany on SQLite).
Users are plain records until written, not ORM objects. A refused bulk writes nothing at all.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lisens.db.repositories import AuditRepository, NewEntry, UserRepository
from lisens.domain.engine import Resolution, TenantLicenses, require_plan, resolve
from lisens.domain.errors import BulkFailed as BulkFailed
from lisens.domain.errors import (
    Code,
    InvalidCombination,
    InvalidInput,
    LisensError,
    PrerequisiteMissing,
    UnknownUser,
    UserRetired,
)
from lisens.domain.model import Plan, UserType
from lisens.domain.names import plan_parts
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.fencing import tenant_plan
from lisens.service.results import BulkRead
from lisens.service.scheduling import apply_due_changes
from lisens.service.state import TenantState, load_state
from lisens.service.users import (
    USER_NAME_RE,
    _assignable,
    _check_user_type,
    _require_tenant_plan,
    _take_seat,
    plan_for,
)

REQUIRED_COLUMNS = ("user",)
KNOWN_COLUMNS = ("user", "plans", "licenses", "type")


@dataclass(frozen=True)
class BulkRow:
    line: int
    user: str
    plans: tuple[str, ...]
    licenses: tuple[str, ...]
    user_type: str


def parse_bulk_csv(text: str) -> list[BulkRow]:
    """Columns: user, plans (joined with '+' for a multi-plan user), licenses (';' or space separated), type."""
    try:
        return _parse(text)
    except csv.Error as exc:
        raise InvalidInput(f"CSV is malformed: {exc}", code=Code.INVALID_CSV) from None


def _parse(text: str) -> list[BulkRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            f"CSV header {columns!r} lacks column(s) {missing!r}; expected {', '.join(KNOWN_COLUMNS)}",
            code=Code.INVALID_CSV,
        )
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise InvalidInput(
            f"CSV has unknown column(s) {unknown!r}; known: {', '.join(KNOWN_COLUMNS)}", code=Code.INVALID_CSV
        )
    rows = []
    for raw in reader:
        cells = {key.strip(): (value or "").strip() for key, value in raw.items() if key is not None}
        plans = plan_parts(cells.get("plans", ""))
        licenses = tuple(n for n in cells.get("licenses", "").replace(";", " ").split() if n)
        rows.append(
            BulkRow(
                line=reader.line_num,
                user=cells.get("user", ""),
                plans=plans,
                licenses=licenses,
                user_type=cells.get("type") or "internal",
            )
        )
    return rows


@dataclass(slots=True)
class _User:
    """A user as the bulk sees it: plain values, not an ORM row (a bulk may create 100,000 users; the id of
    one it creates is known only once written), and what they hold."""

    name: str
    type: str
    can_log_in: bool
    retired: bool
    plan: str | None
    licenses: tuple[str, ...]  # sorted
    id: int = 0
    new: bool = False


# What the audit log's snapshot of a user says (plan, licenses, type, can log in, retired), as a plain
# tuple: the document itself is made once per distinct snapshot, when the entries are written.
Snapshot = tuple[str | None, tuple[str, ...], str, bool, bool]
# A log entry kept until written: action, user name, subject, the snapshots before and after. Plain
# tuples of plain values, which the garbage collector stops tracking: a bulk keeps 200,000 of them, and
# tracked objects by the hundred thousand make each full collection scan them all.
_Entry = tuple[str, str, str, Snapshot | None, Snapshot]


def _snapshot(user: _User) -> Snapshot:
    return (user.plan, user.licenses, user.type, user.can_log_in, user.retired)


@dataclass
class _Bulk:
    """The tenant's state in memory while the rows are checked; written once at the end."""

    state: TenantState
    users: dict[str, _User]
    plan_counts: Counter[str]
    license_counts: Counter[str]
    tenant_licenses: TenantLicenses
    initial: dict[str, tuple[str | None, frozenset[str]]] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)
    # What many rows share, found once: plans by the keys a row names, resolutions by plan and direct
    # licenses, and the audit log's documents by snapshot (one object each, so that the log serialises
    # each distinct snapshot once).
    plans: dict[tuple[str, ...], Plan] = field(default_factory=dict)
    resolutions: dict[tuple[str | None, tuple[str, ...]], Resolution] = field(default_factory=dict)
    documents: dict[Snapshot, dict[str, Any]] = field(default_factory=dict)

    def document(self, snapshot: Snapshot) -> dict[str, Any]:
        """The snapshot in the shape `users.user_snapshot` writes to the audit log; one object for each
        distinct snapshot, never changed once made."""
        found = self.documents.get(snapshot)
        if found is None:
            plan, licenses, type_, can_log_in, retired = snapshot
            found = self.documents[snapshot] = {
                "plan": plan,
                "licenses": list(licenses),
                "type": type_,
                "can_log_in": can_log_in,
                "retired": retired,
            }
        return found

    def plan_of(self, keys: tuple[str, ...]) -> Plan:
        found = self.plans.get(keys)
        if found is None:
            found = self.plans[keys] = plan_for(self.state, keys)
        return found

    def resolution(self, plan: str | None, direct: tuple[str, ...]) -> Resolution:
        key = (plan, direct)
        found = self.resolutions.get(key)
        if found is None:
            catalog = self.state.catalog
            found = self.resolutions[key] = resolve(
                catalog, self.tenant_licenses, plan=require_plan(catalog, plan) if plan else None, direct=direct
            )
        return found

    def row(self, row: BulkRow, *, create_users: bool) -> bool:
        """Check one row against the state so far and keep its effect in memory; raise if it fails.

        Returns whether the user's holdings changed. Nothing is kept of a row that fails.
        """
        state = self.state
        user = self.users.get(row.user)
        plans: dict[str, int] = {}  # seats taken (or given back) by this row, kept only if it holds
        licenses: dict[str, int] = {}
        entries: list[_Entry] = []
        if user is None:
            if not create_users:
                raise UnknownUser(
                    f"tenant {state.row.name!r} has no user {row.user!r}", tenant=state.row.name, user=row.user
                )
            user = self._new_user(row, plans, entries)
        before = _snapshot(user)
        if not row.plans and not row.licenses:
            raise InvalidInput("nothing to assign: give plans or licenses", code=Code.NOTHING_TO_ASSIGN)
        if user.retired:
            raise UserRetired(f"user {row.user!r} is retired and holds no licenses", user=row.user)
        new_plan = user.plan
        if row.plans:
            plan = self.plan_of(row.plans)
            if state.catalog.tenant_plan and plan.key != tenant_plan(state):
                raise InvalidCombination(
                    f"in {state.catalog.name} every user holds the tenant's plan "
                    f"({tenant_plan(state) or 'none bought'}), not {plan.key}; change the tenant's plan instead",
                    code=Code.NOT_TENANT_PLAN,
                    plan=plan.key,
                )
            allowed = state.catalog.licenses[plan.plan_license].allowed_user_types
            _check_user_type(f"plan {plan.key}", allowed, user)
            if plan.key != new_plan:
                if not plan.unrestricted:
                    in_use = self.plan_counts[plan.key] + plans.get(plan.key, 0)
                    _take_seat(state, item=plan.key, label=f"plan {plan.key} ({plan.plan_license})", in_use=in_use)
                if new_plan is not None:
                    plans[new_plan] = plans.get(new_plan, 0) - 1
                plans[plan.key] = plans.get(plan.key, 0) + 1
                new_plan = plan.key
        held = set(user.licenses)
        for name in dict.fromkeys(row.licenses):
            info = _assignable(state, name, user)
            if info.full_name in held:
                continue
            if not info.unrestricted:
                in_use = self.license_counts[info.full_name]
                _take_seat(state, item=info.full_name, label=info.full_name, in_use=in_use)
            licenses[info.full_name] = licenses.get(info.full_name, 0) + 1
            held.add(info.full_name)
        direct = tuple(sorted(held))
        if direct:  # with no direct license there is no prerequisite to check
            resolution = self.resolution(new_plan, direct)
            for name in direct:
                needed = state.get_license(name)
                if needed is not None and needed.prerequisite and not resolution.has_license(needed.prerequisite):
                    raise PrerequisiteMissing(
                        f"{name} needs {needed.prerequisite}, which user {row.user!r} does not hold",
                        license=name,
                        prerequisite=needed.prerequisite,
                        user=row.user,
                    )
        # The row holds: keep its effect.
        if user.new:
            self.users[row.user] = user
        user.plan = new_plan
        user.licenses = direct
        for key, taken in plans.items():
            self.plan_counts[key] += taken
        for key, taken in licenses.items():
            self.license_counts[key] += taken
        after = _snapshot(user)
        entries.append(("assign", row.user, ",".join([*row.plans, *row.licenses]), before, after))
        self.entries.extend(entries)
        return before != after

    def _new_user(self, row: BulkRow, plans: dict[str, int], entries: list[_Entry]) -> _User:
        """A user the row creates, checked as `users.add_user` checks it (CRM Suite: a seat of the tenant's plan)."""
        if not USER_NAME_RE.fullmatch(row.user):
            raise InvalidInput(
                f"user name {row.user!r} must be 1-254 letters, digits and . _ @ + -, starting with a letter or digit",
                code=Code.INVALID_NAME,
                value=row.user,
            )
        try:
            kind = UserType(row.user_type)
        except ValueError:
            raise InvalidInput(
                f"user type {row.user_type!r} is not one of {', '.join(t.value for t in UserType)}",
                code=Code.INVALID_USER_TYPE,
                value=row.user_type,
            ) from None
        state = self.state
        user = _User(row.user, kind.value, True, False, None, (), new=True)
        entries.append(("user.add", row.user, row.user, None, _snapshot(user)))
        if state.catalog.tenant_plan:
            # CRM Suite: a seat is a user who can log in, holding the tenant's plan.
            plan = _require_tenant_plan(state)
            _take_seat(state, item=plan, label=f"plan {plan} (suite-user)", in_use=self.plan_counts[plan])
            before = _snapshot(user)
            user.plan = plan
            plans[plan] = plans.get(plan, 0) + 1
            entries.append(("assign", row.user, plan, before, _snapshot(user)))
        return user

    def write(self, ctx: Context, *, at: datetime) -> None:
        """Everything the kept rows did: new users, plans, licenses and one audit entry per change."""
        state = self.state
        repo = UserRepository(ctx.session)
        created = [user for user in self.users.values() if user.new]
        ids = repo.insert_users(state.id, created, created_at=at)
        for user, user_id in zip(created, ids, strict=True):
            user.id = user_id
        plans: dict[int, str | None] = {}
        added: list[tuple[int, str]] = []
        for name, user in self.users.items():
            plan_before, licenses_before = self.initial.get(name, (None, frozenset()))
            if user.plan != plan_before:
                plans[user.id] = user.plan
            added.extend((user.id, license_) for license_ in user.licenses if license_ not in licenses_before)
        repo.set_plans(state.id, plans, new={user.id for user in created})
        repo.add_licenses(state.id, added)
        # One entry per change, as `assign` writes them, numbered and chained in one statement; made as
        # they are written.
        users, document = self.users, self.document
        AuditRepository(ctx.session).append_many(
            state.id,
            at=at,
            actor=ctx.actor,
            entries=(
                NewEntry(action, subject, users[user].id, None if before is None else document(before), document(after))
                for action, user, subject, before, after in self.entries
            ),
        )
        state.row.version += len(self.entries)
        ctx.session.flush()


def _load(ctx: Context, tenant: str, rows: Sequence[BulkRow], *, lock: bool = True) -> _Bulk:
    """The tenant (locked, unless only preparing), and in memory: the named users with what they hold,
    and the seats in use."""
    state = load_state(ctx, tenant, lock=lock)
    repo = UserRepository(ctx.session)
    found = repo.records_by_names(state.id, [row.user for row in rows])
    ids = [user.id for user in found]
    plans = repo.plans_of(state.id, ids)
    direct = repo.licenses_of(state.id, ids)
    users = {
        u.name: _User(
            u.name, u.type, u.can_log_in, u.retired, plans.get(u.id), tuple(sorted(direct.get(u.id, []))), u.id
        )
        for u in found
    }
    bulk = _Bulk(
        state=state,
        users=users,
        plan_counts=Counter(repo.plan_counts(state.id)),
        license_counts=Counter(repo.license_counts(state.id)),
        tenant_licenses=state.licenses(),
    )
    bulk.initial = {name: (user.plan, frozenset(user.licenses)) for name, user in users.items()}
    return bulk


def bulk_assign(
    ctx: Context,
    tenant: str,
    rows: Sequence[BulkRow],
    *,
    partial: bool = False,
    create_users: bool = False,
    at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkRead:
    """Check every row, then write the valid ones; without `partial`, any failure raises BULK_ASSIGN_FAILED
    and nothing is written.

    Rows apply in order (a later row sees what an earlier one assigned). The caller's transaction
    holds the writes, with the tenant locked from the start: no other change to the tenant can
    take a seat counted here.
    """
    apply_due_changes(ctx, tenant, until=utc(at) if at is not None else None)
    bulk = _load(ctx, tenant, rows)  # UNKNOWN_TENANT before any row
    moment = change_time(ctx, bulk.state.row, at)
    report = _check(bulk, rows, partial=partial, create_users=create_users, progress=progress)
    bulk.write(ctx, at=moment)
    return report


def _check(
    bulk: _Bulk,
    rows: Sequence[BulkRow],
    *,
    partial: bool,
    create_users: bool,
    progress: Callable[[int], None] | None,
) -> BulkRead:
    applied = 0
    failed: list[dict[str, Any]] = []
    for row in rows:
        try:
            bulk.row(row, create_users=create_users)
            applied += 1
        except LisensError as error:
            failed.append({"line": row.line, "user": row.user, "code": error.code, "message": error.message})
        if progress is not None:
            progress(1)
    report = {"rows": len(rows), "applied": applied, "failed": failed, "partial": partial}
    if failed and not partial:
        raise BulkFailed(
            f"{len(failed)} of {len(rows)} rows failed; nothing was applied (use --partial to apply the valid rows)",
            rows=len(rows),
            failed=failed,
        )
    return BulkRead.model_validate(report)


@dataclass
class PreparedBulk:
    """A bulk checked against the tenant as it was at `version`, without holding its lock."""

    tenant: str
    version: int
    rows: Sequence[BulkRow]
    partial: bool
    create_users: bool
    report: BulkRead
    bulk: _Bulk = field(repr=False)


def prepare(
    ctx: Context,
    tenant: str,
    rows: Sequence[BulkRow],
    *,
    partial: bool = False,
    create_users: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PreparedBulk:
    """Check every row in a read-only unit of work: the slow part of a bulk, done without the tenant's
    lock (and, on SQLite, without the database's one write lock), so other changes keep going.

    Raises BULK_ASSIGN_FAILED as `bulk_assign` does; `commit` writes what was checked."""
    bulk = _load(ctx, tenant, rows, lock=False)
    report = _check(bulk, rows, partial=partial, create_users=create_users, progress=progress)
    return PreparedBulk(tenant, bulk.state.row.version, rows, partial, create_users, report, bulk)


def commit(ctx: Context, prepared: PreparedBulk, *, at: datetime | None = None) -> BulkRead:
    """Write a prepared bulk under the tenant's lock, all or nothing. If the tenant changed since it was
    checked (its version moved), every row is checked again under the lock, as `bulk_assign` does."""
    apply_due_changes(ctx, prepared.tenant, until=utc(at) if at is not None else None)
    state = load_state(ctx, prepared.tenant, lock=True)
    if state.row.version != prepared.version:
        return bulk_assign(
            ctx,
            prepared.tenant,
            prepared.rows,
            partial=prepared.partial,
            create_users=prepared.create_users,
            at=at,
        )
    moment = change_time(ctx, state.row, at)
    bulk = prepared.bulk
    bulk.state = state  # the locked row of this transaction carries the version and the log's head
    bulk.write(ctx, at=moment)
    return prepared.report
