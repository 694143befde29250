"""API tokens: created once in plain text, stored as a SHA-256 hash, revocable; who a token speaks for."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lisens.db.models import TokenRow
from lisens.db.repositories import AuditRepository, TenantRepository, TokenRepository
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.times import utc
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.results import TokenRead, TokenRevokedRead
from lisens.service.state import load_state, require_user

Role = Literal["vendor", "admin", "app"]
ROLES: tuple[Role, ...] = ("vendor", "admin", "app")
TOKEN_PREFIX = "lsn_"


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for. The vendor has no tenant; admin and app tokens have exactly one."""

    token_id: int
    role: Role
    tenant_id: int | None = None
    tenant: str | None = None
    user_id: int | None = None
    user: str | None = None

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}:{self.role}" + (f":{self.tenant}" if self.tenant else "")


def hash_token(plain: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def token_view(row: TokenRow, tenant: str | None, user: str | None) -> TokenRead:
    return TokenRead(
        id=row.id,
        prefix=row.prefix,
        role=row.role,
        tenant=tenant,
        user=user,
        description=row.description,
        created_at=utc(row.created_at).isoformat(),
        revoked_at=utc(row.revoked_at).isoformat() if row.revoked_at else None,
    )


def create_token(
    ctx: Context,
    *,
    role: str,
    tenant: str | None = None,
    user: str | None = None,
    description: str = "",
    at: datetime | None = None,
) -> tuple[str, TokenRead]:
    """A new token; the plain text is returned once and never stored."""
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", code=Code.INVALID_ROLE, value=role)
    if (role == "vendor") != (tenant is None):
        raise InvalidInput(
            "a vendor token has no tenant; an admin or app token needs one", code=Code.INVALID_ROLE, value=role
        )
    tenant_id = user_id = None
    if tenant is not None:
        state = load_state(ctx, tenant, lock=True)
        moment = change_time(ctx, state.row, at)
        tenant_id = state.id
        if user is not None:
            user_id = require_user(ctx, state, user).id
    elif user is not None:
        raise InvalidInput("a vendor token cannot be bound to a user", code=Code.INVALID_ROLE)
    else:
        moment = ctx.now()
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(
        token_hash=hash_token(plain),
        prefix=plain[:10],
        role=role,
        tenant_id=tenant_id,
        user_id=user_id,
        description=description,
        created_at=moment,
    )
    TokenRepository(ctx.session).add(tenant_id, row)
    subject = f"{row.prefix}… ({role})"
    if tenant_id is not None:
        AuditRepository(ctx.session).add(tenant_id, at=moment, actor=ctx.actor, action="token.create", subject=subject)
    else:
        AuditRepository(ctx.session).add_vendor(
            at=moment, actor=ctx.actor, action="token.create", subject=subject, after={"id": row.id}
        )
    return plain, token_view(row, tenant, user)


def list_tokens(
    ctx: Context, *, tenant: str | None = None, after: int | None = None, limit: int | None = None
) -> list[TokenRead]:
    """Tokens by id (of one tenant, or all); with `limit`, a page of them after the id `after`."""
    tenant_id = load_state(ctx, tenant).id if tenant is not None else None
    rows = TokenRepository(ctx.session).listed(tenant_id, after=after, limit=limit)
    return [token_view(row, tenant_name, user_name) for row, tenant_name, user_name in rows]


def revoke_token(ctx: Context, token_id: int) -> TokenRevokedRead:
    """Revoke a token at once (the server's clock); recorded in its tenant's log, or the vendor's."""
    row = TokenRepository(ctx.session).get(token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}", code=Code.UNKNOWN_TOKEN, token=token_id)
    if row.revoked_at is None:
        audit = AuditRepository(ctx.session)
        subject = f"{row.prefix}…"
        if row.tenant_id is not None:
            tenant = TenantRepository(ctx.session).lock(row.tenant_id)
            row.revoked_at = change_time(ctx, tenant)
            audit.add(row.tenant_id, at=row.revoked_at, actor=ctx.actor, action="token.revoke", subject=subject)
        else:
            row.revoked_at = ctx.now()
            audit.add_vendor(
                at=row.revoked_at, actor=ctx.actor, action="token.revoke", subject=subject, after={"id": row.id}
            )
        ctx.session.flush()
    return TokenRevokedRead(id=row.id, revoked_at=utc(row.revoked_at).isoformat() if row.revoked_at else None)


def authenticate(ctx: Context, plain: str) -> Principal | None:
    """The principal of a live token, or None for an unknown or revoked one."""
    found = TokenRepository(ctx.session).live(hash_token(plain))
    if found is None:
        return None
    row, tenant, user = found
    role: Role = row.role  # type: ignore[assignment]
    return Principal(token_id=row.id, role=role, tenant_id=row.tenant_id, tenant=tenant, user_id=row.user_id, user=user)
