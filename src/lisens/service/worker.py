"""The worker: deliveries, and everything time triggers (renewals, due changes, license status events).

The database is the queue, so several workers may run at once: a delivery is claimed under a lock that
others skip, and every time-triggered change is made under the tenant's lock by an idempotent use case
(`subscriptions.renew`, `scheduling.apply_due_changes`), so a second worker finds nothing left to do. A
renewal that passed while no worker ran is made on the next run, exactly as on its day: invoices carry
their own dates, and scheduled lowerings and moves apply on their renewal day.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from lisens.db.repositories import (
    AuditRepository,
    EventRepository,
    GenerationMoveRepository,
    ScheduledChangeRepository,
    SubscriptionRepository,
    TenantRepository,
)
from lisens.domain.billing import LicenseStatus, add_months, license_dates
from lisens.domain.errors import LisensError
from lisens.domain.times import utc
from lisens.service import scheduling, subscriptions, waves
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.state import load_state
from lisens.service.webhooks import LEASE, Sender, Unit, deliver_once, http_sender

LOGGER = logging.getLogger(__name__)

STATUS_ACTIONS = {
    LicenseStatus.WARNING: "license.warning",
    LicenseStatus.IN_GRACE: "license.grace",
    LicenseStatus.EXPIRED: "license.expire",
}


def boundary_due(start: date, last_issued: date | None, day: date) -> bool:
    """Whether a monthly boundary of the contract (every billing period and add-on month starts on one)
    fell in (last invoice, day]: then a renewal has invoices to issue."""
    if day < start:
        return False
    if last_issued is None:
        return True
    offset = max((last_issued.year - start.year) * 12 + last_issued.month - start.month - 1, 0)
    while (boundary := add_months(start, offset)) <= day:
        if boundary > last_issued:
            return True
        offset += 1
    return False


def renewal_due(ctx: Context, tenant_id: int, day: date) -> bool:
    contract = contract_of(ctx, tenant_id)
    if contract is None:
        return False
    repo = SubscriptionRepository(ctx.session)
    last = repo.last_invoice(tenant_id)
    if boundary_due(contract.start, last.issued if last else None, day):
        return True
    if any(row.effective <= day for row in repo.scheduled(tenant_id)):
        return True
    return bool(GenerationMoveRepository(ctx.session).due(tenant_id, until=day))


def record_license_status(ctx: Context, tenant: str, *, at: datetime | None = None) -> str | None:
    """Log the tenant's license status once it changes to warning, grace or expired (an event each)."""
    state = load_state(ctx, tenant, lock=True)
    contract = contract_of(ctx, state.id)
    if contract is None:
        return None
    moment = change_time(ctx, state.row, at)
    dates = license_dates(contract, utc(moment).date())
    action = STATUS_ACTIONS.get(dates.status)
    if action is None or EventRepository(ctx.session).last_status_entry(state.id) == action:
        return None
    AuditRepository(ctx.session).add(
        state.id,
        at=moment,
        actor=ctx.actor,
        action=action,
        subject=tenant,
        after={"status": dates.status.value, "expiry": dates.expiry.isoformat(), "grace": dates.grace.isoformat()},
    )
    return action


@dataclass
class Worker:
    """Runs what is due. `unit` opens one unit of work (a transaction) with the worker's clock."""

    unit: Unit
    sender: Sender = http_sender
    lease: timedelta = LEASE
    poll: float = 0.2  # seconds between delivery rounds when idle
    tick: float = 30.0  # seconds between rounds of time-triggered work
    stopped: threading.Event = field(default_factory=threading.Event)

    def due_work(self, *, until: datetime | None = None) -> dict[str, Any]:
        """Moves of waves, scheduled changes, renewals (invoices, lowerings, moves) and license status events due by
        `until` (the clock's now when not given), each tenant in its own transaction."""
        report: dict[str, Any] = {"waves": {}, "changes": {}, "renewals": {}, "status": {}, "errors": {}}
        with self.unit() as ctx:
            now = ctx.now()
            limit = min(utc(until), now) if until is not None else now
            tenants = EventRepository(ctx.session).subscribed()
            with_changes = ScheduledChangeRepository(ctx.session).tenants_with_due(until=limit)
            names = dict(tenants)
            changed = TenantRepository(ctx.session).names_of(with_changes)
            wave_moves = waves.due_moves(ctx, until=limit)
        at = utc(until) if until is not None and utc(until) < now else None
        # Waves first: a tenant moved at its renewal is invoiced for the new term in its new generation.
        for entry_id, name in wave_moves:
            self._guarded(report, name, lambda ctx, e=entry_id: _wave_move(ctx, e, at, report))
        for name in changed:
            self._guarded(report, name, lambda ctx, name=name: _changes(ctx, name, at, report))
        for tenant_id, name in sorted(names.items(), key=lambda item: item[1]):
            self._guarded(report, name, lambda ctx, t=tenant_id, n=name: _renewal(ctx, t, n, at, limit, report))
        return report

    def _guarded(self, report: dict[str, Any], name: str, work: Any) -> None:
        try:
            with self.unit() as ctx:
                work(ctx)
        except LisensError as error:
            LOGGER.warning("due work failed", extra={"fields": {"tenant": name, "code": error.code}})
            report["errors"][name] = f"{error.code}: {error.message}"

    def deliver(self) -> int:
        return deliver_once(self.unit, self.sender, lease=self.lease)

    def run_once(self, *, until: datetime | None = None, rounds: int = 1000) -> dict[str, Any]:
        """What is due up to `until`, then deliveries until none is due (for tests and catch-up)."""
        report = self.due_work(until=until)
        attempts = 0
        for _ in range(rounds):
            made = self.deliver()
            attempts += made
            if not made:
                break
        report["attempts"] = attempts
        return report

    def run(self) -> None:
        """Until stopped: deliveries every `poll` seconds when idle, time-triggered work every `tick`."""
        last_tick: float | None = None
        while not self.stopped.is_set():
            now = time.monotonic()
            if last_tick is None or now - last_tick >= self.tick:
                last_tick = now
                self._safely(self.due_work)
            made = self._safely(self.deliver)
            if not made:
                self.stopped.wait(self.poll)

    def _safely(self, work: Any) -> Any:
        try:
            return work()
        except LisensError as error:
            LOGGER.warning("worker round failed", extra={"fields": {"code": error.code, "message": error.message}})
        except Exception:
            LOGGER.exception("worker round failed")
        return 0


def _wave_move(ctx: Context, entry_id: int, at: datetime | None, report: dict[str, Any]) -> None:
    done = waves.run_due(ctx, entry_id, at=at)
    if done is not None:
        report["waves"][done.tenant] = done.state if not done.reason else f"{done.state}: {done.reason}"


def _changes(ctx: Context, name: str, at: datetime | None, report: dict[str, Any]) -> None:
    done = scheduling.apply_due_changes(ctx, name, until=at)
    if done:
        report["changes"][name] = done


def _renewal(
    ctx: Context, tenant_id: int, name: str, at: datetime | None, limit: datetime, report: dict[str, Any]
) -> None:
    if renewal_due(ctx, tenant_id, utc(limit).date()):
        renewed = subscriptions.renew(ctx, name, at=at)
        if renewed.issued or renewed.applied or renewed.moved:
            report["renewals"][name] = renewed.model_dump(mode="json", by_alias=True)
    status = record_license_status(ctx, name, at=at)
    if status:
        report["status"][name] = status
