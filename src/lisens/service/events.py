"""The change feed read from the logs: a tenant's events after a sequence number, or every tenant's."""

from __future__ import annotations

from lisens.db.models import AuditRow
from lisens.db.repositories import AuditRepository, EventRepository
from lisens.domain.events import Event, event_type
from lisens.domain.times import utc
from lisens.service.context import Context
from lisens.service.results import EventRead, LogHeads
from lisens.service.state import require_tenant_row

MAX_PAGE = 1000


def event_of(row: AuditRow, tenant: str, user_names: dict[int, str]) -> Event:
    """The event of one log entry: its type by `domain/events.py: event_type`, the entry as it was logged."""
    return Event(
        tenant=tenant,
        seq=row.seq,
        type=event_type(row.action),
        action=row.action,
        at=utc(row.at),
        actor=row.actor,
        subject=row.subject,
        user=user_names.get(row.user_id) if row.user_id is not None else None,
        before=row.before,
        after=row.after,
        correction=bool(row.correction),
    )


def tenant_events(ctx: Context, tenant: str, *, after: int = 0, limit: int = 100) -> list[EventRead]:
    """The tenant's events after sequence number `after`, in sequence (commit) order."""
    tenant_id = require_tenant_row(ctx, tenant).id
    rows = AuditRepository(ctx.session).entries(tenant_id, after_seq=after, limit=min(limit, MAX_PAGE))
    names = EventRepository(ctx.session).user_names(tenant_id, (r.user_id for r in rows if r.user_id is not None))
    return [EventRead(**event_of(row, tenant, names).view(), cursor=row.seq) for row in rows]


def all_events(ctx: Context, *, after: int = 0, limit: int = 100) -> list[EventRead]:
    """Every tenant's events after the entry id `after` (the `cursor` of the last one read), in id order."""
    repo = EventRepository(ctx.session)
    rows = repo.all_entries(after_id=after, limit=min(limit, MAX_PAGE))
    found: list[EventRead] = []
    names: dict[int, dict[int, str]] = {}
    for row, tenant in rows:
        assert row.tenant_id is not None
        if row.tenant_id not in names:
            ids = [r.user_id for r, _ in rows if r.tenant_id == row.tenant_id and r.user_id is not None]
            names[row.tenant_id] = repo.user_names(row.tenant_id, ids)
        found.append(EventRead(**event_of(row, tenant, names[row.tenant_id]).view(), cursor=row.id))
    return found


def heads(ctx: Context, tenants: list[str]) -> LogHeads:
    """The last sequence number of each tenant named (unknown names left out) and the last entry id of
    any tenant's log: one look that tells every live stream of a process whether its log moved."""
    repo = EventRepository(ctx.session)
    return LogHeads(tenants=repo.heads(sorted(set(tenants))), last_id=repo.last_id())
