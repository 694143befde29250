"""The change feed: every entry of a tenant's log is an event, named by a pure mapping of its action.

The log is the source of events. An entry is written in the transaction of its change, so no change
reaches the database without its event; webhooks and the live stream read the log by sequence.
Deliveries follow the Standard Webhooks specification: a message id that stays the same across
retries, the timestamp of the attempt, an HMAC-SHA256 signature over `id.timestamp.body`.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# The event type of each log action. An action of an older log keeps its meaning under its new type.
EVENT_TYPES: Mapping[str, str] = {
    "tenant.create": "tenant.created",
    "seats.set": "seats.changed",
    "seats.upgrade": "seats.changed",
    "seats.renewal": "seats.changed",
    "seats.schedule": "seats.scheduled",
    "addon.add": "addon.added",
    "addon.remove": "addon.removed",
    "system.add": "system_license.added",
    "system.remove": "system_license.removed",
    "owner.add": "owner.added",
    "owner.license": "partner_license.added",
    "package.issue": "package.issued",
    "package.activate": "package.activated",
    "move.apply": "generation.moved",
    "move.rollback": "generation.move_rolled_back",
    "migration.apply": "generation.moved",
    "migration.rollback": "generation.move_rolled_back",
    "plan.change": "tenant_plan.changed",
    "user.add": "user.created",
    "user.retire": "user.retired",
    "user.login": "user.login_changed",
    "assign": "assignment.created",
    "unassign": "assignment.removed",
    "subscription.create": "subscription.created",
    "subscription.cancel": "subscription.cancelled",
    "subscription.period": "subscription.period_changed",
    "subscription.renew": "subscription.renewed",
    "invoice.issue": "invoice.issued",
    "license.warning": "license.warning",
    "license.grace": "license.in_grace",
    "license.expire": "license.expired",
    "change.scheduled": "change.scheduled",
    "change.cancelled": "change.cancelled",
    "change.failed": "change.failed",
    "usage.add": "usage.changed",
    "usage.set": "usage.changed",
    "token.create": "token.created",
    "token.revoke": "token.revoked",
    "tag.set": "tenant_tag.set",
    "tag.remove": "tenant_tag.removed",
    "webhook.create": "webhook.created",
    "webhook.enable": "webhook.enabled",
    "webhook.disable": "webhook.disabled",
    "webhook.remove": "webhook.removed",
    # The vendor's log: cohort move plans and waves (each tenant's move is in its own log as move.apply).
    "move_plan.save": "move_plan.saved",
    "wave.create": "wave.created",
    "wave.pause": "wave.paused",
    "wave.resume": "wave.resumed",
    "wave.cancel": "wave.cancelled",
    "wave.move": "wave.tenant_moved",
    "wave.block": "wave.tenant_blocked",
    "wave.rollback": "wave.tenant_rolled_back",
}
ALL_TYPES: tuple[str, ...] = tuple(sorted(set(EVENT_TYPES.values())))

# Retries: 5 s, 10 s, 20 s, … doubling up to an hour between attempts, for at least 24 hours from the
# first attempt; then the delivery is dead and the endpoint's next event goes out.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)
SECRET_PREFIX = "whsec_"


def event_type(action: str) -> str:
    """The event type of a log entry's action; an action not named above is published as `log.<action>`."""
    return EVENT_TYPES.get(action, f"log.{action}")


def public_url(url: str) -> str:
    """A webhook URL as the log keeps it: scheme, host, port and path. Credentials in the user part, the
    query or the fragment (`?token=…`) are dropped, so no secret reaches the append-only log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def require_types(patterns: Iterable[str]) -> tuple[str, ...]:
    """Event-type filters: exact types or shell patterns (`assignment.*`); each must match a known type."""
    found = tuple(sorted({p.strip() for p in patterns if p.strip()}))
    unknown = [p for p in found if not any(fnmatch.fnmatchcase(t, p) for t in ALL_TYPES) and not p.startswith("log.")]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)} (known: {', '.join(ALL_TYPES)})")
    return found


def wanted(patterns: Sequence[str] | None, type_: str) -> bool:
    """Whether an endpoint filtered by `patterns` (none: every event) wants an event of `type_`."""
    return not patterns or any(fnmatch.fnmatchcase(type_, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class Event:
    tenant: str
    seq: int
    type: str
    action: str
    at: datetime
    actor: str
    subject: str
    user: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    correction: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "id": event_id(self.tenant, self.seq),
            "type": self.type,
            "tenant": self.tenant,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "user": self.user,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
            "correction": self.correction,
        }


def event_id(tenant: str, seq: int) -> str:
    return f"{tenant}:{seq}"


def message_id(webhook_id: int, tenant_id: int, seq: int) -> str:
    """The Standard Webhooks `webhook-id`: one per endpoint and event, the same on every attempt and replay."""
    return f"msg_{webhook_id}_{tenant_id}_{seq}"


def payload(event: Event) -> bytes:
    """The body of a delivery: `type`, `timestamp` and the event as `data`; canonical JSON (same bytes)."""
    body = {"type": event.type, "timestamp": event.at.isoformat(), "data": event.view()}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def next_attempt(first: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts (doubling from 5 s, at most an hour apart), or None
    once 24 hours have passed since the first attempt: the delivery is then dead."""
    if now - first >= RETRY_WINDOW:
        return None
    wait = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT) if attempts < 20 else LONGEST_WAIT
    return now + wait
