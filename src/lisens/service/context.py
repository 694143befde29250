"""What every use case receives: the session of its unit of work, who acts, and where catalogs live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lisens.domain.errors import Code, InvalidInput
from lisens.domain.model import Catalog
from lisens.domain.times import require_time, utc

if TYPE_CHECKING:
    from lisens.db.sessions import Session

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The server's clock: the one authority for when a change happens."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """`clock` is read only to stamp a change, under its tenant's lock. `may_correct` is the vendor's
    right to record a change at a past time it gives (an audited correction); nobody else has it."""

    session: Session
    actor: str
    catalog_dir: Path | None = None
    prices_dir: Path | None = None
    clock: Clock = system_clock
    may_correct: bool = False

    def catalog(self, generation: str) -> Catalog:
        from lisens.catalog.loader import load_catalog  # a command that reads no catalog does not import it

        return load_catalog(generation, self.catalog_dir)

    def now(self) -> datetime:
        return utc(self.clock())


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is UTC. Refuses anything else with INVALID_TIME."""
    try:
        return utc(require_time(datetime.fromisoformat(text)))
    except ValueError:
        raise InvalidInput(
            f"time {text!r} is not an ISO 8601 date or date-time (e.g. 2026-11-22 or 2026-11-22T10:00:00+01:00)",
            code=Code.INVALID_TIME,
            value=text,
        ) from None
