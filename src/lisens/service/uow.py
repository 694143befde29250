"""The unit of work every entry point uses: one session, one transaction, committed or rolled back whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lisens.domain.errors import LisensError
from lisens.service.context import Clock, Context, system_clock


class DatabaseUnavailable(LisensError):
    default_code = "DATABASE_UNAVAILABLE"


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session],
    *,
    actor: str,
    catalog_dir: Path | None,
    prices_dir: Path | None = None,
    may_correct: bool = False,
    clock: Clock = system_clock,
) -> Iterator[Context]:
    """Committed when the block completes; rolled back on any error. Database failures become
    DATABASE_UNAVAILABLE (cannot reach it) or DATABASE_ERROR, never a driver traceback."""
    session = factory()
    try:
        yield Context(
            session=session,
            actor=actor,
            catalog_dir=catalog_dir,
            prices_dir=prices_dir,
            clock=clock,
            may_correct=may_correct,
        )
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
