"""Request plumbing: the principal of the bearer token, tenant access rules, signing keys; the unit of work
per request is `lisens.web.units`."""

from __future__ import annotations

from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lisens.api.problems import ApiError
from lisens.domain.errors import Code, UnknownTenant
from lisens.service.access import is_vendor, may_manage, may_read
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.tokens import Principal, authenticate, hash_token
from lisens.settings import Settings
from lisens.signing import load_private_key, load_public_key
from lisens.web.limiter import FailedAuthLimiter, client_address
from lisens.web.units import primary_read
from lisens.web.units import unit_of_work as unit_of_work


def _token_from(header: str | None) -> str:
    if not header:
        raise ApiError("missing Authorization header: send 'Authorization: Bearer <token>'", code=Code.UNAUTHENTICATED)
    scheme, _, token = header.strip().partition(" ")
    # SuperOffice clients send their ticket as `SOTicket …`; a Lisens token works there too.
    if scheme.lower() not in ("bearer", "soticket") or not token.strip():
        raise ApiError("the Authorization header must be 'Bearer <token>'", code=Code.UNAUTHENTICATED)
    return token.strip()


# Declares the bearer scheme in the OpenAPI document (the Authorize button of /docs); the header itself
# is read below, where `SOTicket <token>` is accepted too.
BEARER = HTTPBearer(auto_error=False, description="A Lisens token: `Authorization: Bearer <token>`")
BEARER_SCHEME = "HTTPBearer"  # its name in the OpenAPI document's security schemes


async def current_principal(
    request: Request, _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None
) -> Principal:
    """The principal of the bearer token: from memory while no token changed, else from the database
    (in a worker thread, so that the event loop never waits for it). The header is read as sent: the
    bearer scheme above only declares it (a `SOTicket` header is no bearer credential to it)."""
    authorization = request.headers.get("authorization")
    if not authorization:  # no credentials is not a failed authentication
        raise ApiError("missing Authorization header: send 'Authorization: Bearer <token>'", code=Code.UNAUTHENTICATED)
    try:
        token = _token_from(authorization)
        known = cache(request)
        key = hash_token(token)
        principal = known.cached_principal(key)
        if principal is None:

            def load() -> Principal | None:
                # From the primary: a replica may not have replayed a revocation (or a new token) yet.
                return primary_read(request, "auth", lambda ctx: authenticate(ctx, token))

            principal = await run_in_threadpool(known.principal, key, load)
        if principal is None:
            raise ApiError("unknown or revoked token", code=Code.UNAUTHENTICATED)
    except ApiError:
        # A valid token is never slowed down; failures beyond the limit are answered 429.
        limiter: FailedAuthLimiter = request.app.state.auth_limiter
        client = client_address(request)
        wait = limiter.failed(client)
        if wait is not None:
            raise limiter.refuse(client, wait) from None
        raise
    request.state.principal = principal
    return principal


Auth = Annotated[Principal, Depends(current_principal)]


def cache(request: Request) -> EffectiveLicenseCache:
    found: EffectiveLicenseCache = request.app.state.cache
    return found


def can_read(principal: Principal, tenant: str) -> None:
    """Any role may read its own tenant; the vendor reads every tenant. Another tenant looks like none."""
    if not may_read(principal, tenant):
        raise UnknownTenant(f"no tenant {tenant!r}", tenant=tenant)


def can_manage(principal: Principal, tenant: str) -> None:
    """Users and assignments: the tenant's admin, or the vendor."""
    can_read(principal, tenant)
    if not may_manage(principal, tenant):
        raise ApiError("an app token may only read and check licenses", code=Code.FORBIDDEN)


def vendor_only(principal: Principal, tenant: str | None = None) -> None:
    """Purchases (tenants, seats, add-ons, system licenses, owners): the vendor only."""
    if tenant is not None:
        can_read(principal, tenant)
    if not is_vendor(principal):
        raise ApiError("only the vendor may change what a tenant has bought", code=Code.FORBIDDEN)


def signing_keys(request: Request) -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    """The server's signing key (LISENS_SIGNING_KEY) and the key packages are verified with."""
    settings: Settings = request.app.state.settings
    if settings.signing_key is None:
        raise ApiError("this server has no signing key (LISENS_SIGNING_KEY)", code=Code.NO_SIGNING_KEY)
    private = load_private_key(settings.signing_key)
    public = load_public_key(settings.public_key) if settings.public_key else private.public_key()
    return private, public


def verifying_key(request: Request) -> Ed25519PublicKey:
    settings: Settings = request.app.state.settings
    if settings.public_key is not None:
        return load_public_key(settings.public_key)
    return signing_keys(request)[1]
