"""The change feed under /v1: events as JSON pages or Server-Sent Events, and webhooks.

A tenant's events (`/v1/tenants/{t}/events`) are read by any token of the tenant (an app token follows
its own tenant only) and by the vendor; every tenant's (`/v1/events`) by the vendor only. Webhooks of
a tenant are managed by its admin or the vendor; webhooks for every tenant (`/v1/webhooks`) by the
vendor.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from lisens.api.deps import Auth, can_manage, can_read, unit_of_work, vendor_only
from lisens.api.responses import DeliveryRead, EventRead, LogHeads, ReplayRead, WebhookRead
from lisens.api.schemas import WebhookChange, WebhookCreate, WebhookReplay
from lisens.api.v1 import PROBLEMS
from lisens.service import events, webhooks
from lisens.service.tokens import Principal

router = APIRouter(prefix="/v1", responses=PROBLEMS)

STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "With `Accept: text/event-stream`: Server-Sent Events",
    }
}
After = Annotated[int, Query(ge=0, le=2**62, description="Events after this cursor (a `cursor` read before)")]
Limit = Annotated[int, Query(ge=1, le=events.MAX_PAGE, description="Events per page")]
Wait = Annotated[
    float, Query(ge=0, le=3600, description="SSE: seconds to keep the stream open while idle (then reconnect)")
]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", include_in_schema=False)]
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
POLL = 0.25  # seconds between looks at the logs while streams are idle
DISCONNECT_CHECK = 5.0  # seconds an idle stream waits before it checks its client is still there


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _resume(after: int, last_event_id: str | None) -> int:
    if last_event_id and last_event_id.strip().isdigit():
        return max(after, int(last_event_id.strip()))
    return after


Fetch = Callable[[int], list[EventRead]]


def _watch(request: Request) -> LogWatch:
    """The process's one LogWatch (made on the first stream, in the event loop)."""
    watch: LogWatch | None = getattr(request.app.state, "log_watch", None)
    if watch is None:

        def look(tenants: list[str]) -> LogHeads:
            with unit_of_work(request, "stream", read_only=True) as ctx:
                return events.heads(ctx, tenants)

        watch = request.app.state.log_watch = LogWatch(look)
    return watch


def _stream(
    request: Request, log: str | None, fetch: Fetch, after: int, limit: int, wait: float
) -> EventSourceResponse:
    """Server-Sent Events from `after` on. Between changes a stream holds no database connection: it
    waits on the process's LogWatch, which looks at every followed log at once."""

    async def generate() -> AsyncIterator[ServerSentEvent]:
        watch = _watch(request)
        cursor = after
        idle_since = anyio.current_time()
        while not await request.is_disconnected():
            seen = watch.known(log)
            found = await watch.fetch(log, cursor, limit, fetch)
            for item in found:
                cursor = item.cursor
                data = json.dumps(item.model_dump(mode="json"), sort_keys=True)
                yield ServerSentEvent(data=data, id=str(cursor), event=item.type)
            if found:
                idle_since = anyio.current_time()
                continue
            left = wait - (anyio.current_time() - idle_since)
            if left <= 0:
                return
            await watch.wait(log, seen, min(left, DISCONNECT_CHECK))

    return EventSourceResponse(generate(), ping=15, send_timeout=30)


class _Flight:
    """One fetch that several streams wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: list[EventRead] | None = None


class LogWatch:
    """Every live stream of this process waits here for its log to move: one stream at a time looks at the
    heads of all the logs followed (one short query every `POLL`), and streams at the same place share one
    fetch of what is new. A thousand idle followers cost one query per look and hold no database
    connection between looks."""

    def __init__(self, look: Callable[[list[str]], LogHeads], poll: float = POLL) -> None:
        self.look = look
        self.poll = poll
        self.heads: dict[str | None, int] = {}  # a tenant's last seq; None: the last entry id of any tenant
        self.followed: dict[str | None, int] = {}
        self.looking = False
        self.moved = anyio.Event()
        self.flights: dict[tuple[str | None, int, int], _Flight] = {}

    def known(self, log: str | None) -> int | None:
        return self.heads.get(log)

    async def fetch(self, log: str | None, cursor: int, limit: int, fetch: Fetch) -> list[EventRead]:
        """What is after `cursor` in the log; streams asking the same at the same time share one query."""
        token = (log, cursor, limit)
        flight = self.flights.get(token)
        if flight is not None:
            await flight.done.wait()
            if flight.result is not None:
                return flight.result
            return await anyio.to_thread.run_sync(fetch, cursor)
        flight = self.flights[token] = _Flight()
        try:
            flight.result = await anyio.to_thread.run_sync(fetch, cursor)
            return flight.result
        finally:
            del self.flights[token]
            flight.done.set()

    async def wait(self, log: str | None, seen: int | None, timeout: float) -> None:
        """Return once the log's head is other than `seen` (the head known before the last fetch), or after
        `timeout` seconds."""
        self.followed[log] = self.followed.get(log, 0) + 1
        try:
            with anyio.move_on_after(timeout):
                while log not in self.heads or self.heads[log] == seen:
                    if not self.looking:
                        await self._look()
                    else:
                        moved = self.moved
                        with anyio.move_on_after(self.poll * 4):  # the looking stream may have gone away
                            await moved.wait()
        finally:
            self.followed[log] -= 1
            if not self.followed[log]:
                del self.followed[log]

    async def _look(self) -> None:
        self.looking = True
        try:
            await anyio.sleep(self.poll)
            tenants = sorted(log for log in self.followed if log is not None)
            found = await anyio.to_thread.run_sync(self.look, tenants)
            heads: dict[str | None, int] = {None: found.last_id}
            heads.update(found.tenants)
            self.heads = heads
        finally:
            self.looking = False
            moved, self.moved = self.moved, anyio.Event()
            moved.set()


def _page(request: Request, response: Response, found: list[EventRead], limit: int) -> list[EventRead]:
    """A full page of events links to the next one, after its last event's cursor."""
    if len(found) == limit:
        response.headers["Link"] = f'<{request.url.include_query_params(after=str(found[-1].cursor))}>; rel="next"'
    return found


def _tenant_fetch(request: Request, principal: Principal, tenant: str, limit: int) -> Callable[[int], list[EventRead]]:
    def fetch(after: int) -> list[EventRead]:
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            return events.tenant_events(ctx, tenant, after=after, limit=limit)

    return fetch


@router.get("/tenants/{tenant}/events", tags=["events"], response_model=list[EventRead], responses=STREAM)
def tenant_events(
    request: Request,
    response: Response,
    principal: Auth,
    tenant: str,
    after: After = 0,
    limit: Limit = 100,
    wait: Wait = 300.0,
    last_event_id: LastEventId = None,
) -> Any:
    """The tenant's events in sequence order after `after`; `Accept: text/event-stream` follows them live
    (resumable with `Last-Event-ID`)."""
    can_read(principal, tenant)
    fetch = _tenant_fetch(request, principal, tenant, limit)
    after = _resume(after, last_event_id)
    if _wants_stream(request):
        fetch(after)  # an unknown tenant is refused before the stream starts
        return _stream(request, tenant, fetch, after, limit, wait)
    return _page(request, response, fetch(after), limit)


@router.get("/events", tags=["events"], response_model=list[EventRead], responses=STREAM)
def all_events(
    request: Request,
    response: Response,
    principal: Auth,
    after: After = 0,
    limit: Limit = 100,
    wait: Wait = 300.0,
    last_event_id: LastEventId = None,
) -> Any:
    """Every tenant's events (vendor only), each tenant's in sequence order; `cursor` is the entry's id."""
    vendor_only(principal)

    def fetch(cursor: int) -> list[EventRead]:
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            return events.all_events(ctx, after=cursor, limit=limit)

    after = _resume(after, last_event_id)
    if _wants_stream(request):
        return _stream(request, None, fetch, after, limit, wait)
    return _page(request, response, fetch(after), limit)


# ---------------------------------------------------------------- webhooks


def _scope(principal: Principal, tenant: str | None) -> str | None:
    """The tenant a webhook call acts for: its own tenant's admin or the vendor; None (all) the vendor only."""
    if tenant is None:
        vendor_only(principal)
    else:
        can_manage(principal, tenant)
    return tenant


def _add(request: Request, principal: Principal, tenant: str | None, body: WebhookCreate) -> WebhookRead:
    with unit_of_work(request, principal.actor) as ctx:
        return webhooks.add_webhook(
            ctx, _scope(principal, tenant), body.url, event_types=body.event_types, description=body.description
        )


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, tags=["webhooks"], response_model=WebhookRead)
def add_vendor_webhook(request: Request, principal: Auth, body: WebhookCreate) -> WebhookRead:
    """An endpoint for every tenant's events (vendor only); the answer holds its secret, shown once."""
    return _add(request, principal, None, body)


@router.post(
    "/tenants/{tenant}/webhooks", status_code=status.HTTP_201_CREATED, tags=["webhooks"], response_model=WebhookRead
)
def add_tenant_webhook(request: Request, principal: Auth, tenant: str, body: WebhookCreate) -> WebhookRead:
    """An endpoint for the tenant's events (its admin or the vendor); the answer holds its secret, shown once."""
    return _add(request, principal, tenant, body)


@router.get("/webhooks", tags=["webhooks"], response_model=list[WebhookRead])
def list_vendor_webhooks(request: Request, principal: Auth) -> list[WebhookRead]:
    """Every endpoint, the tenants' and the vendor's (vendor only)."""
    _scope(principal, None)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return webhooks.list_webhooks(ctx, None)


@router.get("/tenants/{tenant}/webhooks", tags=["webhooks"], response_model=list[WebhookRead])
def list_tenant_webhooks(request: Request, principal: Auth, tenant: str) -> list[WebhookRead]:
    """The tenant's endpoints (its admin or the vendor)."""
    _scope(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return webhooks.list_webhooks(ctx, tenant)


def _change(request: Request, principal: Principal, tenant: str | None, webhook_id: int, enabled: bool) -> WebhookRead:
    scope = _scope(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return webhooks.set_enabled(ctx, scope, webhook_id, enabled=enabled)


@router.patch("/webhooks/{webhook_id}", tags=["webhooks"], response_model=WebhookRead)
def change_vendor_webhook(request: Request, principal: Auth, webhook_id: WebhookId, body: WebhookChange) -> WebhookRead:
    """Disable (`{"enabled": false}`) or enable an endpoint; a disabled one's events wait, in order."""
    return _change(request, principal, None, webhook_id, body.enabled)


@router.patch("/tenants/{tenant}/webhooks/{webhook_id}", tags=["webhooks"], response_model=WebhookRead)
def change_tenant_webhook(
    request: Request, principal: Auth, tenant: str, webhook_id: WebhookId, body: WebhookChange
) -> WebhookRead:
    """Disable or enable one of the tenant's endpoints; a disabled one's events wait, in order."""
    return _change(request, principal, tenant, webhook_id, body.enabled)


def _remove(request: Request, principal: Principal, tenant: str | None, webhook_id: int) -> WebhookRead:
    scope = _scope(principal, tenant)
    with unit_of_work(request, principal.actor) as ctx:
        return webhooks.remove_webhook(ctx, scope, webhook_id)


@router.delete("/webhooks/{webhook_id}", tags=["webhooks"], response_model=WebhookRead)
def remove_vendor_webhook(request: Request, principal: Auth, webhook_id: WebhookId) -> WebhookRead:
    """Remove an endpoint (vendor only): nothing more is sent to it."""
    return _remove(request, principal, None, webhook_id)


@router.delete("/tenants/{tenant}/webhooks/{webhook_id}", tags=["webhooks"], response_model=WebhookRead)
def remove_tenant_webhook(request: Request, principal: Auth, tenant: str, webhook_id: WebhookId) -> WebhookRead:
    """Remove one of the tenant's endpoints: nothing more is sent to it."""
    return _remove(request, principal, tenant, webhook_id)


def _deliveries(
    request: Request, principal: Principal, tenant: str | None, webhook_id: int, state: str | None, limit: int
) -> list[DeliveryRead]:
    scope = _scope(principal, tenant)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        return webhooks.list_deliveries(ctx, scope, webhook_id, state=state, limit=limit)


DeliveryState = Annotated[str | None, Query(pattern="^(pending|delivered|dead|replaced)$")]


@router.get("/webhooks/{webhook_id}/deliveries", tags=["webhooks"], response_model=list[DeliveryRead])
def vendor_deliveries(
    request: Request, principal: Auth, webhook_id: WebhookId, state: DeliveryState = None, limit: Limit = 100
) -> list[DeliveryRead]:
    """Deliveries newest first: state, attempts, last status and error."""
    return _deliveries(request, principal, None, webhook_id, state, limit)


@router.get("/tenants/{tenant}/webhooks/{webhook_id}/deliveries", tags=["webhooks"], response_model=list[DeliveryRead])
def tenant_deliveries(
    request: Request,
    principal: Auth,
    tenant: str,
    webhook_id: WebhookId,
    state: DeliveryState = None,
    limit: Limit = 100,
) -> list[DeliveryRead]:
    """The deliveries of one of the tenant's endpoints, newest first: state, attempts, last status and error."""
    return _deliveries(request, principal, tenant, webhook_id, state, limit)


def _replay(
    request: Request, principal: Principal, tenant: str | None, webhook_id: int, body: WebhookReplay
) -> ReplayRead:
    scope = _scope(principal, tenant)
    of_tenant = body.tenant if tenant is None else tenant
    with unit_of_work(request, principal.actor) as ctx:
        return webhooks.replay(ctx, scope, webhook_id, from_seq=body.from_seq, of_tenant=of_tenant)


@router.post("/webhooks/{webhook_id}/replay", tags=["webhooks"], response_model=ReplayRead)
def vendor_replay(request: Request, principal: Auth, webhook_id: WebhookId, body: WebhookReplay) -> ReplayRead:
    """Send events again from sequence number `from`, in order, with their original `webhook-id`."""
    return _replay(request, principal, None, webhook_id, body)


@router.post("/tenants/{tenant}/webhooks/{webhook_id}/replay", tags=["webhooks"], response_model=ReplayRead)
def tenant_replay(
    request: Request, principal: Auth, tenant: str, webhook_id: WebhookId, body: WebhookReplay
) -> ReplayRead:
    """Send the tenant's events again from sequence number `from`, in order, with their original `webhook-id`."""
    return _replay(request, principal, tenant, webhook_id, body)
