"""Panel log-ins kept on the server: start one from a token, find its principal, end it; the shared cookie secret."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from lisens.db.models import PanelSessionRow
from lisens.db.repositories import PanelSessionRepository, ServerSecretRepository, TenantRepository, UserRepository
from lisens.domain.times import utc
from lisens.service.context import Context
from lisens.service.tokens import Principal, authenticate

SESSION_LIFETIME = timedelta(hours=8)
COOKIE_SECRET = "panel-cookie"


@dataclass(frozen=True)
class PanelSession:
    """What the cookie keeps: the session id (secret) and the tenant it belongs to (None: the vendor)."""

    session_id: str
    tenant_id: int | None
    principal: Principal


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(ctx: Context, token: str, *, at: datetime) -> PanelSession | None:
    """Log in with an admin or vendor token; None for an unknown, revoked or app token."""
    principal = authenticate(ctx, token)
    if principal is None or principal.role == "app":
        return None
    session_id = secrets.token_urlsafe(32)
    PanelSessionRepository(ctx.session).add(
        principal.tenant_id,
        PanelSessionRow(
            session_hash=_hash(session_id),
            token_id=principal.token_id,
            created_at=utc(at),
            expires_at=utc(at) + SESSION_LIFETIME,
        ),
    )
    return PanelSession(session_id, principal.tenant_id, principal)


def session_principal(ctx: Context, tenant_id: int | None, session_id: str, *, at: datetime) -> Principal | None:
    """Who a live session speaks for; None once it is ended, expired, or its token revoked."""
    found = PanelSessionRepository(ctx.session).live(tenant_id, _hash(session_id), at=utc(at))
    if found is None:
        return None
    _, token = found
    tenant = user = None
    if token.tenant_id is not None:
        tenant_row = TenantRepository(ctx.session).get(token.tenant_id)
        tenant = tenant_row.name if tenant_row is not None else None
        if token.user_id is not None:
            user_row = UserRepository(ctx.session).get_by_id(token.tenant_id, token.user_id)
            user = user_row.name if user_row is not None else None
    return Principal(
        token_id=token.id,
        role=token.role,  # type: ignore[arg-type]
        tenant_id=token.tenant_id,
        tenant=tenant,
        user_id=token.user_id,
        user=user,
    )


def end_session(ctx: Context, tenant_id: int | None, session_id: str, *, at: datetime) -> bool:
    """Log out: the session id stops working at once, wherever the cookie is."""
    return PanelSessionRepository(ctx.session).end(tenant_id, _hash(session_id), at=utc(at))


def shared_secret(ctx: Context, name: str = COOKIE_SECRET, *, at: datetime) -> str:
    """The secret every worker signs panel cookies with: made by whichever worker asks first, then kept."""
    repository = ServerSecretRepository(ctx.session)
    found = repository.get(name)
    if found is not None:
        return found
    return repository.add_once(name, secrets.token_urlsafe(48), at=utc(at))
