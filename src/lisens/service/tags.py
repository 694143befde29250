"""Tenant tags: labels `key=value` (segment, country, partner, …) to select tenants by, audit-logged."""

from __future__ import annotations

import re
from datetime import datetime

from lisens.db.repositories import AuditRepository, TagRepository
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.results import TagsRead
from lisens.service.state import load_state

KEY = re.compile(r"[a-z][a-z0-9_.-]{0,49}")
MAX_VALUE = 200


def require_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise InvalidInput(
            f"tag key {key!r} must be 1-50 lower-case letters, digits, '_', '.' or '-', starting with a letter",
            code=Code.INVALID_TAG,
            key=key,
        )
    return key


def require_value(value: str) -> str:
    if not 1 <= len(value) <= MAX_VALUE or not value.isprintable() or value != value.strip():
        raise InvalidInput(
            f"tag value {value!r} must be 1-{MAX_VALUE} printable characters without surrounding spaces",
            code=Code.INVALID_TAG,
            value=value,
        )
    return value


def parse_tag(text: str) -> tuple[str, str]:
    """`key=value` as (key, value), both checked."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInput(f"tag {text!r} must be written key=value", code=Code.INVALID_TAG, value=text)
    return require_key(key), require_value(value)


def list_tags(ctx: Context, tenant: str) -> TagsRead:
    state = load_state(ctx, tenant)
    return TagsRead(tenant=tenant, tags=TagRepository(ctx.session).of(state.id))


def set_tag(ctx: Context, tenant: str, key: str, value: str, *, at: datetime | None = None) -> TagsRead:
    """Tag the tenant `key=value` (replacing the key's value); logged when it changes something."""
    require_key(key)
    require_value(value)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    repo = TagRepository(ctx.session)
    before = repo.put(state.id, key, value)
    changed = before != value
    if changed:
        AuditRepository(ctx.session).add(
            state.id,
            at=utc(at),
            actor=ctx.actor,
            action="tag.set",
            subject=key,
            before=None if before is None else {"value": before},
            after={"value": value},
        )
        ctx.session.flush()
    return TagsRead(tenant=tenant, tags=repo.of(state.id), changed=changed)


def remove_tag(ctx: Context, tenant: str, key: str, *, at: datetime | None = None) -> TagsRead:
    """Remove the tenant's tag `key` (NO_TAG when it has none)."""
    require_key(key)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    repo = TagRepository(ctx.session)
    before = repo.remove(state.id, key)
    if before is None:
        raise NotFound(f"tenant {tenant!r} has no tag {key!r}", code=Code.NO_TAG, key=key)
    AuditRepository(ctx.session).add(
        state.id, at=utc(at), actor=ctx.actor, action="tag.remove", subject=key, before={"value": before}
    )
    ctx.session.flush()
    return TagsRead(tenant=tenant, tags=repo.of(state.id), changed=True)
