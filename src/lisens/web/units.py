"""A unit of work for one HTTP request, on the app's session factories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from starlette.requests import Request

from lisens.service.context import Context
from lisens.service.idempotency import Reservation
from lisens.service.tokens import Principal
from lisens.service.uow import joined_unit_of_work
from lisens.service.uow import unit_of_work as service_unit_of_work
from lisens.settings import Settings

if TYPE_CHECKING:
    from lisens.db.sessions import SessionFactory

# Where a request sent with an Idempotency-Key carries its reservation (`request.state.<IDEMPOTENCY>`).
IDEMPOTENCY = "idempotency"


@contextmanager
def unit_of_work(request: Request, actor: str, *, read_only: bool = False) -> Iterator[Context]:
    """One transaction for one request; a `read_only` one takes no write lock (on SQLite) and must not write.

    A request holding an Idempotency-Key reservation keeps its first write's transaction open instead of
    committing it: the middleware stores the answer in it and commits both. Later units of that request
    join it (each as a savepoint), so they see its writes."""
    factory: SessionFactory = request.app.state.read_sessions if read_only else request.app.state.sessions
    settings: Settings = request.app.state.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    reservation: Reservation | None = getattr(request.state, IDEMPOTENCY, None)
    # Only the vendor may record a change at a time it gives (an audited correction).
    may_correct = principal is not None and principal.role == "vendor"
    if reservation is not None and reservation.kept is not None:
        with joined_unit_of_work(
            reservation.kept,
            actor=actor,
            catalog_dir=settings.catalog_dir,
            prices_dir=settings.prices_dir,
            may_correct=may_correct,
            clock=request.app.state.clock,
        ) as ctx:
            yield ctx
        return
    with service_unit_of_work(
        factory,
        actor=actor,
        catalog_dir=settings.catalog_dir,
        prices_dir=settings.prices_dir,
        may_correct=may_correct,
        clock=request.app.state.clock,
        keep=reservation.keep if reservation is not None and not read_only else None,
    ) as ctx:
        yield ctx
