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
from lisens.api.responses import DeliveryRead, EventRead, ReplayRead, WebhookRead
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
POLL = 0.25  # seconds between looks at the log while a stream is idle


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _resume(after: int, last_event_id: str | None) -> int:
    if last_event_id and last_event_id.strip().isdigit():
        return max(after, int(last_event_id.strip()))
    return after


def _stream(request: Request, fetch: Callable[[int], list[EventRead]], after: int, wait: float) -> EventSourceResponse:
    async def generate() -> AsyncIterator[ServerSentEvent]:
        cursor = after
        idle_since = anyio.current_time()
        while not await request.is_disconnected():
            found = await anyio.to_thread.run_sync(fetch, cursor)
            for item in found:
                cursor = item.cursor
                data = json.dumps(item.model_dump(mode="json"), sort_keys=True)
                yield ServerSentEvent(data=data, id=str(cursor), event=item.type)
            if found:
                idle_since = anyio.current_time()
                continue
            if anyio.current_time() - idle_since >= wait:
                return
            await anyio.sleep(POLL)

    return EventSourceResponse(generate(), ping=15, send_timeout=30)


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
        return _stream(request, fetch, after, wait)
    found = fetch(after)
    if len(found) == limit:
        response.headers["Link"] = f'<{request.url.include_query_params(after=str(found[-1].cursor))}>; rel="next"'
    return found


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
        return _stream(request, fetch, after, wait)
    found = fetch(after)
    if len(found) == limit:
        response.headers["Link"] = f'<{request.url.include_query_params(after=str(found[-1].cursor))}>; rel="next"'
    return found


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
