"""The unit of work every entry point uses: one session, one transaction, committed or rolled back whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lisens.db import changes
from lisens.db.transaction import DatabaseUnavailable, savepoint, transaction
from lisens.service.context import Clock, Context, system_clock

if TYPE_CHECKING:
    from lisens.db.sessions import Session, SessionFactory

__all__ = ["DatabaseUnavailable", "committed_versions", "joined_unit_of_work", "unit_of_work"]


def committed_versions(session: Session) -> dict[int, int]:
    """After a session's transaction committed: the new version of each tenant it changed, by tenant id."""
    return changes.committed_versions(session)


@contextmanager
def unit_of_work(
    factory: SessionFactory,
    *,
    actor: str,
    catalog_dir: Path | None,
    prices_dir: Path | None = None,
    may_correct: bool = False,
    clock: Clock = system_clock,
    keep: Callable[[Session], None] | None = None,
) -> Iterator[Context]:
    """A `Context` on one transaction (`lisens.db.transaction`): committed when the block completes,
    rolled back on any error, database failures answered as Lisens errors with stable codes. With
    `keep`, a completed block's transaction is handed to `keep` open instead of committed."""
    with transaction(factory, keep=keep) as session:
        yield Context(
            session=session,
            actor=actor,
            catalog_dir=catalog_dir,
            prices_dir=prices_dir,
            clock=clock,
            may_correct=may_correct,
        )


@contextmanager
def joined_unit_of_work(
    session: Session,
    *,
    actor: str,
    catalog_dir: Path | None,
    prices_dir: Path | None = None,
    may_correct: bool = False,
    clock: Clock = system_clock,
) -> Iterator[Context]:
    """A unit of work inside a transaction kept open by an earlier one (a savepoint of it): it succeeds
    or fails alone, and is committed with that transaction."""
    with savepoint(session) as joined:
        yield Context(
            session=joined,
            actor=actor,
            catalog_dir=catalog_dir,
            prices_dir=prices_dir,
            clock=clock,
            may_correct=may_correct,
        )
