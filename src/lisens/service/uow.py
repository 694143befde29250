"""The unit of work every entry point uses: one session, one transaction, committed or rolled back whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lisens.db import changes
from lisens.db.transaction import DatabaseUnavailable, transaction
from lisens.service.context import Clock, Context, system_clock

if TYPE_CHECKING:
    from lisens.db.sessions import SessionFactory

__all__ = ["DatabaseUnavailable", "committed_versions", "unit_of_work"]


def committed_versions(ctx: Context) -> dict[int, int]:
    """After a unit of work committed: the new version of each tenant it changed, by tenant id."""
    return changes.committed_versions(ctx.session)


@contextmanager
def unit_of_work(
    factory: SessionFactory,
    *,
    actor: str,
    catalog_dir: Path | None,
    prices_dir: Path | None = None,
    may_correct: bool = False,
    clock: Clock = system_clock,
) -> Iterator[Context]:
    """A `Context` on one transaction (`lisens.db.transaction`): committed when the block completes,
    rolled back on any error, database failures answered as Lisens errors with stable codes."""
    with transaction(factory) as session:
        yield Context(
            session=session,
            actor=actor,
            catalog_dir=catalog_dir,
            prices_dir=prices_dir,
            clock=clock,
            may_correct=may_correct,
        )
