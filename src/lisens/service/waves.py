"""Waves: a cohort's move made over time. Each selected tenant moves at its own next renewal or on the wave's
date, when the worker finds it due; the wave records each outcome (moved, blocked with its reason, rolled
back, cancelled) and can be paused, resumed, cancelled or rolled back.

Each tenant's move is `service/moves.py: apply` in its own transaction (the tenant's log holds the move);
every change to a wave is written to the vendor's log in the same transaction. Locks are taken in one
order, the wave first and then the tenant, so the worker, a pause and a rollback never deadlock, and two
workers never move a tenant twice: the second finds the tenant's row of the wave no longer scheduled.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time

from lisens.db.models import MoveWaveRow, MoveWaveTenantRow, SavedMovePlanRow
from lisens.db.repositories import (
    APPLYING_SCHEDULED,
    AuditRepository,
    GenerationMoveRepository,
    SavedMovePlanRepository,
    SubscriptionRepository,
    TenantRepository,
    WaveRepository,
)
from lisens.domain.errors import Code, Conflict, InvalidInput, LisensError, NotFound
from lisens.domain.times import utc
from lisens.service import moves
from lisens.service.clock import not_before_log
from lisens.service.context import Context, parse_time
from lisens.service.contracts import contract_of
from lisens.service.move_plans import Selection, blocking, candidates
from lisens.service.moves import MovePlan
from lisens.service.results import (
    MovePlanSelectionRead,
    SavedMovePlanRead,
    WaveCountsRead,
    WaveRead,
    WaveReportRead,
    WaveTenantRead,
)
from lisens.service.state import TenantState, load_state

RENEWAL = "renewal"
PLAN_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
STATES = ("scheduled", "moved", "blocked", "rolled-back", "cancelled")


# ---------------------------------------------------------------- saved plans


def require_plan_name(name: str) -> str:
    if not PLAN_NAME.fullmatch(name):
        raise InvalidInput(
            f"plan name {name!r} must be 1-100 lower-case letters, digits, '_', '.' or '-', starting with a "
            "letter or digit",
            code=Code.INVALID_NAME,
            value=name,
        )
    return name


def _plan_view(row: SavedMovePlanRow) -> SavedMovePlanRead:
    return SavedMovePlanRead(
        name=row.name,
        to=row.to_generation,
        selection=MovePlanSelectionRead.model_validate(row.selection),
        prices=row.prices,
        created_at=utc(row.created_at).isoformat(),
        created_by=row.created_by,
    )


def save_plan(
    ctx: Context, name: str, *, to: str, selection: Selection, prices: str | None = None
) -> SavedMovePlanRead:
    """Keep a cohort move plan under `name` (replacing the plan of that name): what it selects, where to, and
    the price list it is priced with (None: the installed one). Written to the vendor's log."""
    require_plan_name(name)
    selection.check()
    target = ctx.catalog(to).generation  # refuses an unknown generation
    stored = selection.view().model_dump(mode="json")
    repo = SavedMovePlanRepository(ctx.session)
    row = repo.get(name)
    now = ctx.now()
    before = None
    if row is None:
        row = repo.add(
            SavedMovePlanRow(
                name=name, to_generation=target, selection=stored, prices=prices, created_at=now, created_by=ctx.actor
            )
        )
    else:
        before = {"to": row.to_generation, "selection": row.selection, "prices": row.prices}
        row.to_generation, row.selection, row.prices = target, stored, prices
        row.created_at, row.created_by = now, ctx.actor
    after = {"to": target, "selection": stored, "prices": prices}
    if before != after:
        AuditRepository(ctx.session).add_vendor(
            at=now, actor=ctx.actor, action="move_plan.save", subject=name, after=after
        )
    ctx.session.flush()
    return _plan_view(row)


def require_saved_plan(ctx: Context, name: str) -> SavedMovePlanRead:
    row = SavedMovePlanRepository(ctx.session).get(name)
    if row is None:
        raise NotFound(f"no saved move plan named {name!r}", code=Code.UNKNOWN_MOVE_PLAN, plan=name)
    return _plan_view(row)


def list_plans(ctx: Context) -> list[SavedMovePlanRead]:
    """The saved move plans, by name."""
    return [_plan_view(row) for row in SavedMovePlanRepository(ctx.session).listed()]


# ---------------------------------------------------------------- when a tenant of a wave moves


def parse_at(text: str) -> date | None:
    """`renewal` (None: each tenant at its own next renewal) or the date every tenant moves on."""
    if text == RENEWAL:
        return None
    if len(text) > 40:
        raise InvalidInput("a wave's time is `renewal` or a date (YYYY-MM-DD)", code=Code.INVALID_TIME)
    return parse_time(text).date()


def effective_day(ctx: Context, tenant_id: int, *, on: date | None, today: date) -> date | None:
    """The day a wave moves the tenant: the wave's date, or else the next renewal of the tenant's contract
    (the end of its current term); None when it has no renewal to wait for."""
    if on is not None:
        return on
    contract = contract_of(ctx, tenant_id)
    return contract.next_renewal(today) if contract is not None else None


def _moment(ctx: Context, tenant_id: int, log_at: datetime | None, day: date) -> datetime | None:
    """When a due move is recorded: at the start of its day (UTC), as if made then, never before the tenant's
    last log entry. None when an invoice issued on or after that day would change: then it is made now."""
    moment = datetime.combine(day, time(0), tzinfo=UTC)
    if log_at is not None:
        moment = max(moment, utc(log_at))
    invoice = SubscriptionRepository(ctx.session).last_invoice(tenant_id)
    if invoice is not None and invoice.issued >= moment.date():
        return None
    return moment


# ---------------------------------------------------------------- views


def _counts(found: dict[str, int]) -> WaveCountsRead:
    return WaveCountsRead.model_validate({state: found.get(state, 0) for state in STATES})


def _wave_view(row: MoveWaveRow, counts: dict[str, int]) -> WaveRead:
    return WaveRead.model_validate(_wave_fields(row, counts))


def _wave_fields(row: MoveWaveRow, counts: dict[str, int]) -> dict[str, object]:
    return {
        "id": row.id,
        "plan": row.plan,
        "to": row.to_generation,
        "at": RENEWAL if row.at_renewal or row.on is None else row.on.isoformat(),
        "status": row.status,
        "finished": counts.get("scheduled", 0) == 0,
        "selection": MovePlanSelectionRead.model_validate(row.selection),
        "prices": row.prices,
        "created_at": utc(row.created_at).isoformat(),
        "created_by": row.created_by,
        "changed_at": utc(row.changed_at).isoformat(),
        "counts": _counts(counts),
    }


def _tenant_view(entry: MoveWaveTenantRow, name: str, generation: str, to: str) -> WaveTenantRead:
    return WaveTenantRead.model_validate(
        {
            "tenant": name,
            "state": entry.state,
            "effective": entry.effective.isoformat() if entry.effective else None,
            "from": entry.from_generation,
            "to": to,
            "generation": generation,
            "reason": entry.reason,
            "detail": entry.detail,
            "done_at": utc(entry.done_at).isoformat() if entry.done_at else None,
        }
    )


def _report(ctx: Context, row: MoveWaveRow) -> WaveReportRead:
    repo = WaveRepository(ctx.session)
    ctx.session.flush()
    rows = repo.tenants(row.id)
    counts: dict[str, int] = {}
    for entry, _, _ in rows:
        counts[entry.state] = counts.get(entry.state, 0) + 1
    tenants = [_tenant_view(entry, name, generation, row.to_generation) for entry, name, generation in rows]
    return WaveReportRead.model_validate({**_wave_fields(row, counts), "tenants": tenants})


def _require_wave(ctx: Context, wave_id: int, *, lock: bool = False) -> MoveWaveRow:
    repo = WaveRepository(ctx.session)
    row = repo.lock(wave_id) if lock else repo.get(wave_id)
    if row is None:
        raise NotFound(f"no wave {wave_id}", code=Code.UNKNOWN_WAVE, wave=wave_id)
    return row


def list_waves(ctx: Context) -> list[WaveRead]:
    """Every wave, oldest first, with how many of its tenants are in each state."""
    repo = WaveRepository(ctx.session)
    rows = repo.listed()
    counts = repo.counts([row.id for row in rows]) if rows else {}
    return [_wave_view(row, counts.get(row.id, {})) for row in rows]


def show_wave(ctx: Context, wave_id: int) -> WaveRead:
    row = _require_wave(ctx, wave_id)
    return _wave_view(row, WaveRepository(ctx.session).counts([row.id]).get(row.id, {}))


def wave_report(ctx: Context, wave_id: int) -> WaveReportRead:
    """The wave, its counts and one row per tenant (by name)."""
    return _report(ctx, _require_wave(ctx, wave_id))


def report_csv(view: WaveReportRead) -> str:
    """One line per tenant of the wave."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tenant", "state", "effective", "from", "to", "generation", "reason", "detail", "done_at"])
    for t in view.tenants:
        writer.writerow(
            [t.tenant, t.state, t.effective or "", t.from_generation, t.to, t.generation, t.reason, t.detail,
             t.done_at or ""]
        )  # fmt: skip
    return out.getvalue()


# ---------------------------------------------------------------- making and changing a wave


def _log(ctx: Context, row: MoveWaveRow, action: str, moment: datetime, **after: object) -> None:
    AuditRepository(ctx.session).add_vendor(
        at=moment, actor=ctx.actor, action=action, subject=f"wave {row.id}", after={"wave": row.id, **after}
    )


def create_wave(
    ctx: Context,
    *,
    at: str,
    plan: str | None = None,
    to: str | None = None,
    selection: Selection | None = None,
) -> WaveReportRead:
    """A wave of the tenants a saved plan (or a selection and `to`) selects: each moves at its own next renewal
    (`at="renewal"`) or on the date `at`. A tenant with no renewal to wait for, or on the target already, is
    blocked at once; the others are scheduled for the worker. Written to the vendor's log."""
    on = parse_at(at)
    now = ctx.now()
    today = now.date()
    if on is not None and on < today:
        raise InvalidInput(
            f"a wave on {on.isoformat()} would be in the past (today is {today.isoformat()})",
            code=Code.WAVE_DATE_PASSED,
            on=on.isoformat(),
        )
    if plan is not None:
        if to is not None or selection is not None:
            raise InvalidInput("a wave takes a saved plan or a selection, not both", code=Code.INVALID_INPUT)
        saved = require_saved_plan(ctx, plan)
        target, chosen, prices = saved.to, Selection.of_view(saved.selection), saved.prices
    elif to is not None:
        target, chosen, prices = to, (selection or Selection()), None
    else:
        raise InvalidInput("a wave needs a saved plan or a target generation (`to`)", code=Code.INVALID_INPUT)
    chosen.check()
    target = ctx.catalog(target).generation
    names = candidates(ctx, chosen)
    if not names:
        raise InvalidInput("the wave's selection selects no tenant", code=Code.WAVE_EMPTY)
    repo = WaveRepository(ctx.session)
    row = repo.add(
        MoveWaveRow(
            plan=plan,
            to_generation=target,
            selection=chosen.view().model_dump(mode="json"),
            prices=prices,
            at_renewal=on is None,
            on=on,
            status="active",
            created_at=now,
            created_by=ctx.actor,
            changed_at=now,
        )
    )
    tenants = TenantRepository(ctx.session)
    entries = []
    for name in names:
        tenant = tenants.get_by_name(name)
        assert tenant is not None  # candidates are tenants by name
        entry: dict[str, object] = {
            "tenant_id": tenant.id,
            "from_generation": tenant.generation,
            "effective": effective_day(ctx, tenant.id, on=on, today=today),
            "state": "scheduled",
            "reason": "",
            "detail": "",
            "move_id": None,
            "done_at": None,
        }
        if tenant.generation == target:
            entry.update(state="blocked", reason="on-target", detail=f"on generation {target} already", done_at=now)
        elif entry["effective"] is None:
            entry.update(state="blocked", reason="no-renewal", detail="no running subscription to renew", done_at=now)
        entries.append(entry)
    repo.add_tenants(row.id, entries)
    view = _report(ctx, row)
    _log(
        ctx,
        row,
        "wave.create",
        now,
        to=target,
        plan=plan,
        at=view.at,
        tenants=len(entries),
        scheduled=view.counts.scheduled,
        blocked=view.counts.blocked,
    )
    return view


def _change_status(ctx: Context, wave_id: int, *, to: str, action: str) -> WaveRead:
    row = _require_wave(ctx, wave_id, lock=True)
    if row.status == "cancelled":
        raise Conflict(f"wave {wave_id} is cancelled", code=Code.WAVE_CANCELLED, wave=wave_id)
    if to == "paused" and row.status == "paused":
        raise Conflict(f"wave {wave_id} is paused already", code=Code.WAVE_PAUSED, wave=wave_id)
    if to == "active" and row.status != "paused":
        raise Conflict(f"wave {wave_id} is not paused", code=Code.WAVE_NOT_PAUSED, wave=wave_id)
    now = ctx.now()
    before, row.status, row.changed_at = row.status, to, now
    extra: dict[str, object] = {}
    if to == "cancelled":
        extra["cancelled"] = WaveRepository(ctx.session).cancel_scheduled(row.id, at=now)
    _log(ctx, row, action, now, status=to, before=before, **extra)
    ctx.session.flush()
    return show_wave(ctx, wave_id)


def pause_wave(ctx: Context, wave_id: int) -> WaveRead:
    """Stop the wave's due moves until it is resumed (a move under way finishes)."""
    return _change_status(ctx, wave_id, to="paused", action="wave.pause")


def resume_wave(ctx: Context, wave_id: int) -> WaveRead:
    """Run a paused wave again: moves that fell due meanwhile are made on the worker's next run."""
    return _change_status(ctx, wave_id, to="active", action="wave.resume")


def cancel_wave(ctx: Context, wave_id: int) -> WaveRead:
    """End the wave: its scheduled tenants are cancelled and never moved; moved tenants stay moved."""
    return _change_status(ctx, wave_id, to="cancelled", action="wave.cancel")


def _roll_back(ctx: Context, row: MoveWaveRow, entry: MoveWaveTenantRow, name: str) -> None:
    """Undo one tenant's move of the wave exactly (`moves.rollback`), if it is still the tenant's last move."""
    if entry.state != "moved":
        raise Conflict(
            f"wave {row.id} did not move {name!r} (it is {entry.state})",
            code=Code.WAVE_TENANT_NOT_MOVED,
            tenant=name,
            state=entry.state,
        )
    state = load_state(ctx, name, lock=True)
    last = GenerationMoveRepository(ctx.session).last_applied(state.id)
    if last is None or last.id != entry.move_id:
        raise Conflict(
            f"{name!r} moved again after wave {row.id}: its move cannot be rolled back exactly",
            code=Code.WAVE_MOVE_SUPERSEDED,
            tenant=name,
        )
    moves.rollback(ctx, name)
    done = utc(state.row.log_at) if state.row.log_at is not None else ctx.now()
    entry.state, entry.done_at = "rolled-back", done
    _log(ctx, row, "wave.rollback", done, tenant=name, generation=entry.from_generation)


def rollback_tenant(ctx: Context, wave_id: int, tenant: str) -> WaveTenantRead:
    """Roll back one tenant's move of the wave exactly: every assignment as before the move."""
    row = _require_wave(ctx, wave_id, lock=True)
    state = load_state(ctx, tenant)
    entry = WaveRepository(ctx.session).entry(row.id, state.id)
    if entry is None:
        raise NotFound(f"{tenant!r} is not in wave {wave_id}", code=Code.NOT_IN_WAVE, tenant=tenant)
    _roll_back(ctx, row, entry, tenant)
    ctx.session.flush()
    return _tenant_view(entry, tenant, state.row.generation, row.to_generation)


def rollback_wave(ctx: Context, wave_id: int) -> WaveReportRead:
    """Roll back every tenant the wave moved, exactly, and cancel the tenants still scheduled: all or nothing
    (a tenant that moved again since refuses the whole rollback with WAVE_MOVE_SUPERSEDED)."""
    row = _require_wave(ctx, wave_id, lock=True)
    for entry, name, _ in WaveRepository(ctx.session).tenants(row.id):
        if entry.state == "moved":
            _roll_back(ctx, row, entry, name)
    if row.status != "cancelled":
        now = ctx.now()
        cancelled = WaveRepository(ctx.session).cancel_scheduled(row.id, at=now)
        before, row.status, row.changed_at = row.status, "cancelled", now
        _log(ctx, row, "wave.cancel", now, status="cancelled", before=before, cancelled=cancelled)
    return _report(ctx, row)


# ---------------------------------------------------------------- the worker's part


def due_moves(ctx: Context, *, until: datetime) -> list[tuple[int, str]]:
    """(id, tenant) of every scheduled tenant of an active wave whose day has come by `until`."""
    return WaveRepository(ctx.session).due(until=utc(until).date())


def run_due(ctx: Context, entry_id: int, *, at: datetime | None = None) -> WaveTenantRead | None:
    """Move one due tenant of a wave (or record why it is blocked); None when there is nothing to do (the wave
    is paused or cancelled, or another worker got there first). `at`: the worker's catch-up time."""
    repo = WaveRepository(ctx.session)
    found = repo.entry_of(entry_id)
    if found is None:
        return None
    wave_id, name = found
    row = repo.lock(wave_id)
    entry = repo.entry_by_id(entry_id, lock=True)
    limit = utc(at) if at is not None else ctx.now()
    if row is None or entry is None or row.status != "active" or entry.state != "scheduled":
        return None
    if entry.effective is None or entry.effective > limit.date():
        return None
    state = load_state(ctx, name, lock=True)
    moment = _moment(ctx, state.id, state.row.log_at, entry.effective)
    reason, detail, plan = _blocked(ctx, row, state)
    if plan is not None:
        mover = replace(ctx, may_correct=True, actor=f"{row.created_by} (wave {row.id})")
        ctx.session.info[APPLYING_SCHEDULED] = True
        try:
            with ctx.session.begin_nested():
                moves.apply(mover, name, to=row.to_generation, at=moment, prepared=plan)
        except LisensError as error:
            reason, detail = "refused", f"{error.code}: {error.message}"[:1000]
        finally:
            ctx.session.info.pop(APPLYING_SCHEDULED, None)
    done = not_before_log(state.row, moment or ctx.now())
    if reason:
        entry.state, entry.reason, entry.detail, entry.done_at = "blocked", reason, detail, done
        _log(ctx, row, "wave.block", done, tenant=name, reason=reason, detail=detail)
    else:
        last = GenerationMoveRepository(ctx.session).last_applied(state.id)
        entry.state, entry.move_id = "moved", last.id if last is not None else None
        entry.done_at = utc(last.applied_at) if last is not None and last.applied_at is not None else done
        _log(ctx, row, "wave.move", entry.done_at, tenant=name, generation=row.to_generation)
    ctx.session.flush()
    return _tenant_view(entry, name, state.row.generation, row.to_generation)


def _blocked(ctx: Context, row: MoveWaveRow, state: TenantState) -> tuple[str, str, MovePlan | None]:
    """Why the tenant cannot move now (reason code, detail), or the move to make: the move plan's blockers
    (usage over a plan limit, licenses with no counterpart), on the target already, no mapping."""
    if state.catalog.generation == row.to_generation:
        return "on-target", f"on generation {row.to_generation} already", None
    try:
        plan = moves.compute(ctx, state, row.to_generation)
    except NotFound as error:
        return "no-mapping", error.message, None
    found = blocking(ctx, plan)
    if not found:
        return "", "", plan
    kinds: Sequence[str] = sorted({b.kind for b in found})
    detail = "; ".join(f"{b.kind} {b.item}: {b.detail}" for b in found)
    return kinds[0], detail[:1000], None
