"""Webhooks: endpoints that receive a tenant's events (or every tenant's), signed per Standard Webhooks.

The queue is the database. Each endpoint keeps a stream per tenant: how far it has taken that
tenant's log. A worker turns the next wanted entry of a stream into a delivery only when the stream
has none open, so an endpoint receives a tenant's events in sequence order. A delivery is claimed
with a lease (the rows are locked while claiming: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the
immediate transaction on SQLite), sent outside any transaction, and its outcome recorded; a worker
that dies while sending leaves the lease to run out, and the next worker sends it again with the
same `webhook-id`. Failures are retried with exponential backoff for at least 24 hours, then the
delivery is dead and the stream moves on.
"""

from __future__ import annotations

import base64
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from lisens.db.models import DeliveryRow, WebhookRow
from lisens.db.repositories import AuditRepository, EventRepository, TenantRepository, WebhookRepository
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.events import (
    SECRET_PREFIX,
    event_type,
    message_id,
    next_attempt,
    payload,
    public_url,
    require_types,
    wanted,
)
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.events import event_of
from lisens.service.results import DeliveryRead, ReplayRead, WebhookRead
from lisens.service.state import require_tenant_row

LEASE = timedelta(seconds=60)  # how long a claimed delivery is a worker's before another may send it
TIMEOUT = 10.0  # seconds to wait for an endpoint's answer
ENTRIES_PER_LOOK = 200
BATCH = 50  # deliveries of one stream made, claimed and sent in one round

Unit = Callable[[], AbstractContextManager[Context]]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    return Webhook(secret).sign(msg_id, utc(timestamp), body.decode())


def verify(secret: str, body: bytes, headers: dict[str, str]) -> object:
    """Check a delivery as a receiver does (5 minutes of clock skew allowed); the parsed body, or an error."""
    return Webhook(secret).verify(body, headers)


def _require_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidInput(f"webhook URL {url!r} is not an http(s) URL", code=Code.INVALID_WEBHOOK, value=url[:200])
    return url


def _types(event_types: Sequence[str]) -> list[str]:
    try:
        return list(require_types(event_types))
    except ValueError as exc:
        raise InvalidInput(str(exc), code=Code.INVALID_WEBHOOK) from None


def webhook_view(row: WebhookRow, tenant: str | None, *, secret: bool = False) -> WebhookRead:
    return WebhookRead(
        **{
            "id": row.id,
            "tenant": tenant,
            "url": row.url,
            "event_types": list(row.event_types),
            "description": row.description,
            "enabled": row.enabled,
            "created_at": utc(row.created_at).isoformat(),
            "created_by": row.created_by,
            "secret": row.secret if secret else None,
        }
    )


def _tenant_id(ctx: Context, tenant: str | None) -> int | None:
    return require_tenant_row(ctx, tenant).id if tenant is not None else None


def _require(ctx: Context, tenant: str | None, webhook_id: int) -> WebhookRow:
    row = WebhookRepository(ctx.session).get(_tenant_id(ctx, tenant), webhook_id)
    if row is None:
        raise NotFound(f"no webhook {webhook_id}", code=Code.UNKNOWN_WEBHOOK, webhook=webhook_id)
    return row


def _tenant_name(ctx: Context, tenant_id: int | None) -> str | None:
    if tenant_id is None:
        return None
    row = TenantRepository(ctx.session).get(tenant_id)
    return row.name if row is not None else None


def _logged(row: WebhookRow) -> dict[str, object]:
    """What the log keeps of an endpoint: never its secret, and its URL without credentials or query."""
    return {
        "id": row.id,
        "url": public_url(row.url),
        "event_types": list(row.event_types),
        "description": row.description,
        "enabled": row.enabled,
    }


def _moment(ctx: Context, tenant_id: int | None) -> datetime:
    """The time of a change to an endpoint: a tenant's endpoint locks the tenant and takes its log's time;
    the vendor's (every tenant) takes the server's clock."""
    if tenant_id is None:
        return ctx.now()
    return change_time(ctx, TenantRepository(ctx.session).lock(tenant_id))


def _audit(
    ctx: Context,
    row: WebhookRow,
    action: str,
    *,
    at: datetime,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    """Record a change to an endpoint in its tenant's log, or (an endpoint of every tenant) the vendor's,
    in the change's own transaction."""
    audit = AuditRepository(ctx.session)
    subject = f"webhook {row.id}"
    if row.tenant_id is not None:
        audit.add(row.tenant_id, at=at, actor=ctx.actor, action=action, subject=subject, before=before, after=after)
    else:
        audit.add_vendor(at=at, actor=ctx.actor, action=action, subject=subject, after=after or before)
    ctx.session.flush()


def add_webhook(
    ctx: Context,
    tenant: str | None,
    url: str,
    *,
    event_types: Sequence[str] = (),
    description: str = "",
    secret: str | None = None,
) -> WebhookRead:
    """An endpoint for one tenant's events, or (no tenant) every tenant's; the secret is shown only here.
    Recorded in the tenant's log (or the vendor's) without its secret."""
    if secret is not None and not secret.startswith(SECRET_PREFIX):
        raise InvalidInput(f"a webhook secret starts with {SECRET_PREFIX}", code=Code.INVALID_WEBHOOK)
    tenant_id = _tenant_id(ctx, tenant)
    checked_url, types = _require_url(url), _types(event_types)
    moment = _moment(ctx, tenant_id)
    row = WebhookRow(
        url=checked_url,
        secret=secret or new_secret(),
        event_types=types,
        description=description[:254],
        enabled=True,
        created_at=moment,
        created_by=ctx.actor,
    )
    repo = WebhookRepository(ctx.session)
    repo.add(tenant_id, row)
    _audit(ctx, row, "webhook.create", at=moment, before=None, after=_logged(row))
    # The streams start after the entry that records the endpoint: it receives what happens from now on.
    repo.start_streams(row)
    return webhook_view(row, tenant, secret=True)


def list_webhooks(ctx: Context, tenant: str | None) -> list[WebhookRead]:
    """A tenant's endpoints, or (no tenant: the vendor) every endpoint."""
    rows = WebhookRepository(ctx.session).listed(_tenant_id(ctx, tenant))
    return [webhook_view(row, _tenant_name(ctx, row.tenant_id)) for row in rows]


def set_enabled(ctx: Context, tenant: str | None, webhook_id: int, *, enabled: bool) -> WebhookRead:
    """Disable an endpoint (nothing is sent; its streams wait where they are) or enable it again; a change
    is recorded in the log, asking for the state it has already records nothing."""
    row = _require(ctx, tenant, webhook_id)
    if row.enabled != enabled:
        moment = _moment(ctx, row.tenant_id)
        before = _logged(row)
        row.enabled = enabled
        action = "webhook.enable" if enabled else "webhook.disable"
        _audit(ctx, row, action, at=moment, before=before, after=_logged(row))
    ctx.session.flush()
    return webhook_view(row, _tenant_name(ctx, row.tenant_id))


def remove_webhook(ctx: Context, tenant: str | None, webhook_id: int) -> WebhookRead:
    """Remove an endpoint with its streams and deliveries; recorded in the log."""
    row = _require(ctx, tenant, webhook_id)
    view = webhook_view(row, _tenant_name(ctx, row.tenant_id))
    moment = _moment(ctx, row.tenant_id)
    _audit(ctx, row, "webhook.remove", at=moment, before=_logged(row), after=None)
    WebhookRepository(ctx.session).remove(row)
    return view


def delivery_view(row: DeliveryRow, tenant: str | None) -> DeliveryRead:
    def moment(value: datetime | None) -> str | None:
        return utc(value).isoformat() if value is not None else None

    return DeliveryRead(
        **{
            "id": row.id,
            "webhook": row.webhook_id,
            "tenant": tenant,
            "seq": row.seq,
            "type": row.event_type,
            "message_id": row.message_id,
            "state": row.state,
            "attempts": row.attempts,
            "created_at": moment(row.created_at),
            "next_attempt_at": moment(row.next_attempt_at) if row.state == "pending" else None,
            "last_attempt_at": moment(row.last_attempt_at),
            "done_at": moment(row.done_at),
            "last_status": row.last_status,
            "last_error": row.last_error,
            "replay": row.replay,
        }
    )


def list_deliveries(
    ctx: Context, tenant: str | None, webhook_id: int, *, state: str | None = None, limit: int = 100
) -> list[DeliveryRead]:
    """An endpoint's deliveries, newest first: attempts, last status and error (of its tenant only for a
    tenant admin)."""
    row = _require(ctx, tenant, webhook_id)
    rows = WebhookRepository(ctx.session).deliveries(
        row.id, tenant_id=_tenant_id(ctx, tenant), state=state, limit=min(limit, 1000)
    )
    names: dict[int, str | None] = {}
    for delivery in rows:
        if delivery.tenant_id not in names:
            names[delivery.tenant_id] = _tenant_name(ctx, delivery.tenant_id)
    return [delivery_view(d, names[d.tenant_id]) for d in rows]


def replay(
    ctx: Context, tenant: str | None, webhook_id: int, *, from_seq: int, of_tenant: str | None = None
) -> ReplayRead:
    """Send again from sequence number `from_seq` (each tenant's, or `of_tenant`'s): the open delivery of
    each stream is replaced and its events go out again, in order, with their original `webhook-id`."""
    if from_seq < 1:
        raise InvalidInput("replay starts at sequence number 1 or later", code=Code.INVALID_WEBHOOK)
    row = _require(ctx, tenant, webhook_id)
    target = of_tenant if of_tenant is not None else tenant
    repo = WebhookRepository(ctx.session)
    repo.ensure_streams()
    streams = repo.streams(row.id, _tenant_id(ctx, target))
    now = ctx.now()
    for stream in streams:
        repo.close_open(row.id, stream.tenant_id, at=now)
        stream.position = from_seq - 1
    ctx.session.flush()
    return ReplayRead.model_validate({"webhook": row.id, "from": from_seq, "streams": len(streams)})


# ---------------------------------------------------------------- delivering


@dataclass(frozen=True)
class Job:
    delivery_id: int
    attempts: int
    url: str
    secret: str
    message_id: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str


Sender = Callable[[Job, datetime], Outcome]


def http_sender(job: Job, now: datetime) -> Outcome:
    """POST the delivery with the Standard Webhooks headers; any 2xx answer is success."""
    timestamp = str(int(utc(now).timestamp()))
    request = urllib.request.Request(
        job.url,
        data=job.body,
        method="POST",
        headers={
            "content-type": "application/json",
            "user-agent": "lisens-webhooks",
            "webhook-id": job.message_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign(job.secret, job.message_id, now, job.body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        return Outcome(False, exc.code, f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        return Outcome(False, None, f"{exc.__class__.__name__}: {exc}"[:1000])
    return Outcome(200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}")


def materialize(ctx: Context, *, limit: int = 100) -> int:
    """Turn the next wanted entries (up to `BATCH`) of every stream without an open delivery into
    deliveries, in sequence order."""
    repo = WebhookRepository(ctx.session)
    audit = AuditRepository(ctx.session)
    repo.ensure_streams()
    made = 0
    now = ctx.now()
    for stream in repo.lagging_streams(limit=limit):
        if repo.has_open(stream.webhook_id, stream.tenant_id):
            continue  # another worker made them after this one looked
        hook = repo.get(None, stream.webhook_id)
        assert hook is not None
        entries = audit.entries(stream.tenant_id, after_seq=stream.position, limit=ENTRIES_PER_LOOK)
        chosen: list[tuple[int, str]] = []
        for entry in entries:
            stream.position = entry.seq
            type_ = event_type(entry.action)
            if wanted(hook.event_types, type_):
                chosen.append((entry.seq, type_))
                if len(chosen) == BATCH:
                    break
        # One look for the events sent before (a replay), one insert for the batch: not a query per event.
        sent = repo.sent_seqs(hook.id, stream.tenant_id, [seq for seq, _ in chosen])
        repo.add_deliveries(
            [
                DeliveryRow(
                    webhook_id=hook.id,
                    tenant_id=stream.tenant_id,
                    seq=seq,
                    event_type=type_,
                    message_id=message_id(hook.id, stream.tenant_id, seq),
                    state="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    last_error="",
                    replay=seq in sent,
                )
                for seq, type_ in chosen
            ]
        )
        made += len(chosen)
    ctx.session.flush()
    return made


def claim(ctx: Context, *, limit: int = 20, lease: timedelta = LEASE) -> list[list[Job]]:
    """Claim due deliveries, per stream a run of consecutive ones from its first pending delivery (sent in
    that order): each leased to this worker, its attempt counted, its body built."""
    repo = WebhookRepository(ctx.session)
    now = ctx.now()
    runs: list[list[Job]] = []
    audit = AuditRepository(ctx.session)
    for stream in repo.streams_with_pending(limit=limit):
        hook = repo.get(None, stream.webhook_id)
        tenant = _tenant_name(ctx, stream.tenant_id)
        run: list[Job] = []
        pending = repo.pending(stream.webhook_id, stream.tenant_id, limit=BATCH)
        # The run's log entries and user names in one query each, not one per delivery.
        entries = {entry.seq: entry for entry in audit.entries_at(stream.tenant_id, [d.seq for d in pending])}
        names = EventRepository(ctx.session).user_names(
            stream.tenant_id, [e.user_id for e in entries.values() if e.user_id is not None]
        )
        for delivery in pending:
            leased = delivery.lease_until is not None and utc(delivery.lease_until) > now
            if leased or utc(delivery.next_attempt_at) > now:
                break  # the stream waits for its first pending delivery
            entry = entries.get(delivery.seq)
            if hook is None or tenant is None or entry is None:
                delivery.state, delivery.done_at, delivery.last_error = "dead", now, "the event is gone"
                continue
            if delivery.lease_until is not None:
                delivery.last_error = "the worker sending it stopped before an answer was recorded"
            delivery.attempts += 1
            delivery.lease_until = now + lease
            delivery.first_attempt_at = delivery.first_attempt_at or now
            delivery.last_attempt_at = now
            body = payload(event_of(entry, tenant, names))
            run.append(Job(delivery.id, delivery.attempts, hook.url, hook.secret, delivery.message_id, body))
        if run:
            runs.append(run)
    ctx.session.flush()
    return runs


def release(ctx: Context, job: Job) -> None:
    """Give back a claimed delivery that was not sent (an earlier one of its stream failed)."""
    delivery = WebhookRepository(ctx.session).delivery(job.delivery_id)
    if delivery is None or delivery.state != "pending" or delivery.attempts != job.attempts:
        return
    delivery.attempts -= 1
    delivery.lease_until = None
    if delivery.attempts == 0:
        delivery.first_attempt_at = delivery.last_attempt_at = None
    ctx.session.flush()


def record(ctx: Context, job: Job, outcome: Outcome) -> str:
    """Record an attempt's outcome: delivered; pending again with its next attempt; or dead after 24 hours."""
    repo = WebhookRepository(ctx.session)
    delivery = repo.delivery(job.delivery_id)
    if delivery is None or delivery.state != "pending" or delivery.attempts != job.attempts:
        return "superseded"  # replaced by a replay, or taken over after this worker's lease ran out
    now = ctx.now()
    delivery.last_status, delivery.lease_until = outcome.status, None
    if outcome.ok:
        delivery.state, delivery.done_at, delivery.last_error = "delivered", now, ""
    else:
        delivery.last_error = outcome.error[:1000]
        retry = next_attempt(utc(delivery.first_attempt_at or now), delivery.attempts, now)
        if retry is None:
            delivery.state, delivery.done_at = "dead", now
        else:
            delivery.next_attempt_at = retry
    ctx.session.flush()
    return delivery.state


def deliver_once(unit: Unit, sender: Sender, *, lease: timedelta = LEASE, limit: int = 20) -> int:
    """One round: make deliveries from the logs, claim the due ones, send each stream's in order (stopping
    at its first failure), record the outcomes. Returns the number of attempts made."""
    with unit() as ctx:
        materialize(ctx)
    with unit() as ctx:
        runs = claim(ctx, limit=limit, lease=lease)
        clock = ctx.clock
    attempts = 0
    for run in runs:
        outcomes: list[tuple[Job, Outcome]] = []
        for job in run:
            outcome = sender(job, utc(clock()))
            outcomes.append((job, outcome))
            attempts += 1
            if not outcome.ok:
                break
        with unit() as ctx:
            for job, outcome in outcomes:
                record(ctx, job, outcome)
            for job in run[len(outcomes) :]:
                release(ctx, job)
    return attempts
