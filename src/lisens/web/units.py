"""A unit of work for one HTTP request, on the app's session factories: writes on the primary, reads on the
replica when there is one (LISENS_REPLICA_URL), falling back to the primary (docs/deploy.md).

The app's state holds `sessions` (the primary, read-write), `read_sessions` (where read-only units go:
the replica when there is one, else the primary's read-only factory), `primary_read_sessions` and
`replica` (a `Replica`, or None without one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request

from lisens.domain.errors import DatabaseUnavailable, VersionNotReached
from lisens.service.context import Context
from lisens.service.idempotency import Reservation
from lisens.service.tokens import Principal
from lisens.service.uow import committed_versions, joined_unit_of_work
from lisens.service.uow import unit_of_work as service_unit_of_work
from lisens.settings import Settings

if TYPE_CHECKING:
    from lisens.db.sessions import Session, SessionFactory

T = TypeVar("T")
LOGGER = logging.getLogger(__name__)

# A read whose `min_version` the replica has not replayed yet is tried again after each of these waits
# (0.25 s in all), then answered by the primary.
REPLICA_WAITS = (0.02, 0.05, 0.08, 0.1)
# Seconds a replica that could not be reached is left alone: reads go to the primary meanwhile.
REPLICA_REST = 5.0
# Seconds a panel session reads from the primary after it changed something, so that the page it is
# sent to next shows the change whatever the replica's lag. Kept in the session's cookie.
PANEL_STICKY = 5.0
PRIMARY_UNTIL = "primary_until"


class Replica:
    """The replica's read-only sessions, and whether it was reachable lately (per process)."""

    def __init__(
        self, sessions: SessionFactory, *, rest: float = REPLICA_REST, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sessions = sessions
        self._rest = rest
        self._clock = clock
        self._resting_until = 0.0
        self.failures = 0

    def available(self) -> bool:
        return self._clock() >= self._resting_until

    def failed(self, error: DatabaseUnavailable) -> None:
        """One log line per failure; the replica is not asked again for `rest` seconds."""
        self.failures += 1
        self._resting_until = self._clock() + self._rest
        LOGGER.warning(
            "replica unavailable; reading from the primary",
            extra={"fields": {"code": error.code, "reason": error.message, "retry_in_s": self._rest}},
        )


# Where a request sent with an Idempotency-Key carries its reservation (`request.state.<IDEMPOTENCY>`).
IDEMPOTENCY = "idempotency"

# The tenant's version after a write, and the one a check was decided at: a client sends it back as a
# check's `min_version` to read its own write.
VERSION_HEADER = "Lisens-Version"
VERSION_STATE = "lisens_version"  # where a request's answer keeps it (`request.state`)


@contextmanager
def _service_unit(
    request: Request, actor: str, factory: SessionFactory, *, read_only: bool = True
) -> Iterator[Context]:
    """One transaction for one request.

    A request holding an Idempotency-Key reservation keeps its first write's transaction open instead of
    committing it: the middleware stores the answer in it and commits both. Later units of that request
    join it (each as a savepoint), so they see its writes."""
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
    answer_version(request.scope.setdefault("state", {}), ctx.session)


def answer_version(state: dict[str, Any], session: Session) -> None:
    """After `session` committed: a write to one tenant answers with its new version (`Lisens-Version`),
    kept in the request's state (`scope["state"]`, which `request.state` reads)."""
    versions = committed_versions(session)
    if len(versions) == 1:
        state[VERSION_STATE] = next(iter(versions.values()))


def _replica(request: Request) -> Replica | None:
    """The replica a read may go to now: none configured, resting after a failure, or a panel session
    that changed something a moment ago all mean the primary."""
    replica: Replica | None = getattr(request.app.state, "replica", None)
    if replica is None or not replica.available() or _sticky(request):
        return None
    return replica


def _primary_reads(request: Request) -> SessionFactory:
    if getattr(request.app.state, "replica", None) is None:
        factory: SessionFactory = request.app.state.read_sessions
    else:
        factory = request.app.state.primary_read_sessions
    return factory


def _now(request: Request) -> float:
    return float(request.app.state.clock().timestamp())


def _sticky(request: Request) -> bool:
    if "session" not in request.scope:
        return False
    until = request.session.get(PRIMARY_UNTIL)
    return isinstance(until, int | float) and _now(request) < until


def _stick_to_primary(request: Request) -> None:
    if "session" in request.scope and getattr(request.app.state, "replica", None) is not None:
        request.session[PRIMARY_UNTIL] = _now(request) + PANEL_STICKY


@contextmanager
def unit_of_work(request: Request, actor: str, *, read_only: bool = False) -> Iterator[Context]:
    """One transaction for one request; a `read_only` one takes no write lock (on SQLite) and must not write.

    A read-only one runs on the replica when there is one; a replica that cannot be reached when the unit
    begins is left for the primary. (A read that gives a `min_version` goes through `read`, which also
    retries on the primary when the replica lags or fails halfway.)"""
    if not read_only:
        with _service_unit(request, actor, request.app.state.sessions, read_only=False) as ctx:
            yield ctx
        _stick_to_primary(request)
        return
    with ExitStack() as stack:
        opened: Context | None = None
        replica = _replica(request)
        if replica is not None:
            try:
                with ExitStack() as attempt:
                    opened = attempt.enter_context(_service_unit(request, actor, replica.sessions))
                    opened.session.connection()  # reach the replica now, while the primary can still answer
                    stack.push(attempt.pop_all())
            except DatabaseUnavailable as error:
                replica.failed(error)
                opened = None
        if opened is None:
            opened = stack.enter_context(_service_unit(request, actor, _primary_reads(request)))
        yield opened


def _run(request: Request, actor: str, factory: SessionFactory, work: Callable[[Context], T]) -> T:
    with _service_unit(request, actor, factory) as ctx:
        return work(ctx)


def primary_read(request: Request, actor: str, work: Callable[[Context], T]) -> T:
    """`work` in a read-only unit on the primary, whatever the replica: for what must be exact now."""
    return _run(request, actor, _primary_reads(request), work)


def read(
    request: Request, actor: str, work: Callable[[Context], T], *, ask_primary: Callable[[T], bool] | None = None
) -> T:
    """`work` in a read-only unit of work: on the replica when there is one, else on the primary.

    When the replica has not replayed the state a read asks for (`VersionNotReached`, raised by the
    service through `require_version`), the read is tried again after a few short waits (0.25 s in all),
    then once on the primary. A replica that cannot be reached, or fails during the read, is left for
    the primary too: the answer never depends on the replica being up. On the primary a
    `VersionNotReached` is the answer (409: the tenant has no such version yet).

    `ask_primary` names answers the replica may give only for lack of news (a token or panel session
    made a moment ago that it has not replayed): such an answer is asked of the primary at once."""
    replica = _replica(request)
    if replica is not None:
        for wait in (*REPLICA_WAITS, None):
            try:
                found = _run(request, actor, replica.sessions, work)
                if ask_primary is None or not ask_primary(found):
                    return found
                break
            except VersionNotReached:
                if wait is None:
                    break
                time.sleep(wait)
            except DatabaseUnavailable as error:
                replica.failed(error)
                break
    return _run(request, actor, _primary_reads(request), work)
