"""Request plumbing: a unit of work per request, the principal of the bearer token, tenant access rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lisens.api.problems import ApiError
from lisens.domain.errors import LisensError, UnknownTenant
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.context import Context
from lisens.service.tokens import Principal, authenticate
from lisens.settings import Settings


class DatabaseUnavailable(LisensError):
    default_code = "DATABASE_UNAVAILABLE"


@contextmanager
def unit_of_work(request: Request, actor: str, *, read_only: bool = False) -> Iterator[Context]:
    """One transaction for one request: committed when the handler's work returns, rolled back on error.

    A `read_only` one takes no write lock (on SQLite); it must not change anything.
    """
    factory: sessionmaker[Session] = request.app.state.read_sessions if read_only else request.app.state.sessions
    settings: Settings = request.app.state.settings
    session = factory()
    try:
        yield Context(session=session, actor=actor, catalog_dir=settings.catalog_dir)
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise DatabaseUnavailable(f"database unavailable: {exc.orig}") from None
    except SQLAlchemyError as exc:
        session.rollback()
        raise DatabaseUnavailable(f"database error: {exc.__class__.__name__}", code="DATABASE_ERROR") from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _token_from(header: str | None) -> str:
    if not header:
        raise ApiError("missing Authorization header: send 'Authorization: Bearer <token>'", code="UNAUTHENTICATED")
    scheme, _, token = header.strip().partition(" ")
    # SuperOffice clients send their ticket as `SOTicket …`; a Lisens token works there too.
    if scheme.lower() not in ("bearer", "soticket") or not token.strip():
        raise ApiError("the Authorization header must be 'Bearer <token>'", code="UNAUTHENTICATED")
    return token.strip()


def current_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    token = _token_from(authorization)
    with unit_of_work(request, actor="auth", read_only=True) as ctx:
        principal = authenticate(ctx, token)
    if principal is None:
        raise ApiError("unknown or revoked token", code="UNAUTHENTICATED")
    request.state.principal = principal
    return principal


Auth = Annotated[Principal, Depends(current_principal)]


def cache(request: Request) -> EffectiveLicenseCache:
    found: EffectiveLicenseCache = request.app.state.cache
    return found


def can_read(principal: Principal, tenant: str) -> None:
    """Any role may read its own tenant; the vendor reads every tenant. Another tenant looks like none."""
    if principal.role != "vendor" and principal.tenant != tenant:
        raise UnknownTenant(f"no tenant {tenant!r}", tenant=tenant)


def can_manage(principal: Principal, tenant: str) -> None:
    """Users and assignments: the tenant's admin, or the vendor."""
    can_read(principal, tenant)
    if principal.role == "app":
        raise ApiError("an app token may only read and check licenses", code="FORBIDDEN")


def vendor_only(principal: Principal, tenant: str | None = None) -> None:
    """Purchases (tenants, seats, add-ons, system licenses, owners): the vendor only."""
    if tenant is not None:
        can_read(principal, tenant)
    if principal.role != "vendor":
        raise ApiError("only the vendor may change what a tenant has bought", code="FORBIDDEN")
