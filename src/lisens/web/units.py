"""A unit of work for one HTTP request, on the app's session factories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from starlette.requests import Request

from lisens.service.context import Context
from lisens.service.tokens import Principal
from lisens.service.uow import committed_versions
from lisens.service.uow import unit_of_work as service_unit_of_work
from lisens.settings import Settings

if TYPE_CHECKING:
    from lisens.db.sessions import SessionFactory


# The tenant's version after a write, and the one a check was decided at: a client sends it back as a
# check's `min_version` to read its own write.
VERSION_HEADER = "Lisens-Version"


@contextmanager
def unit_of_work(request: Request, actor: str, *, read_only: bool = False) -> Iterator[Context]:
    """One transaction for one request; a `read_only` one takes no write lock (on SQLite) and must not write."""
    factory: SessionFactory = request.app.state.read_sessions if read_only else request.app.state.sessions
    settings: Settings = request.app.state.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    with service_unit_of_work(
        factory,
        actor=actor,
        catalog_dir=settings.catalog_dir,
        prices_dir=settings.prices_dir,
        # Only the vendor may record a change at a time it gives (an audited correction).
        may_correct=principal is not None and principal.role == "vendor",
        clock=request.app.state.clock,
    ) as ctx:
        yield ctx
    versions = committed_versions(ctx)
    if len(versions) == 1:  # a write to one tenant answers with its new version (`Lisens-Version`)
        request.state.lisens_version = next(iter(versions.values()))
