"""One transaction on a session: committed whole or rolled back whole, database failures as Lisens errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from lisens.domain.errors import AlreadyExists, Busy, Code, Conflict, InvalidInput, LisensError
from lisens.domain.errors import DatabaseUnavailable as DatabaseUnavailable

LOGGER = logging.getLogger(__name__)

# A service reads before it writes and raises these codes itself; two writers at the same moment both
# read "absent", and the second one meets the unique constraint instead. It gets the same answer.
EXISTS_BY_TABLE: dict[str, tuple[Code, str]] = {
    "tenant": (Code.TENANT_EXISTS, "the tenant exists already"),
    "tenant_user": (Code.USER_EXISTS, "the tenant has a user of that name already"),
    "license_owner": (Code.OWNER_EXISTS, "the tenant has that license owner already"),
    "partner_license": (Code.LICENSE_EXISTS, "the tenant has that license already"),
    "subscription": (Code.SUBSCRIPTION_EXISTS, "the tenant has a subscription already"),
}
UNIQUE_SQLSTATE = "23505"
FOREIGN_KEY_SQLSTATE = "23503"


@contextmanager
def transaction(factory: sessionmaker[Session], *, keep: Callable[[Session], None] | None = None) -> Iterator[Session]:
    """Committed when the block completes; rolled back on any error. Database failures become
    DATABASE_UNAVAILABLE (cannot reach it) or DATABASE_ERROR, never a driver traceback; a unique
    constraint broken by a concurrent writer becomes a Conflict with the service's own code, a value
    the database cannot hold (PostgreSQL's DataError) INVALID_VALUE.

    With `keep`, a block that completes is flushed and its still open transaction handed to `keep`
    instead of committed: whoever keeps it adds to it and ends it with `commit_kept` or `rollback_kept`
    (an idempotent request stores its answer in the transaction of its effect)."""
    session = factory()
    kept = False
    try:
        yield session
        if keep is None:
            session.commit()
        else:
            session.flush()
            keep(session)
            kept = True
    except SQLAlchemyError as exc:
        session.rollback()
        raise _as_lisens_error(exc) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        if not kept:
            session.close()


def commit_kept(session: Session) -> None:
    """Commit a transaction `transaction(keep=…)` handed over, with the same errors as `transaction`."""
    try:
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise _as_lisens_error(exc) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rollback_kept(session: Session) -> None:
    """Roll back a transaction `transaction(keep=…)` handed over: nothing of it is written."""
    try:
        session.rollback()
    finally:
        session.close()


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    """A part of a kept transaction that succeeds or fails alone, as a transaction of its own would:
    released when the block completes, rolled back to its start on any error."""
    nested = session.begin_nested()
    try:
        yield session
        session.flush()
        nested.commit()
    except SQLAlchemyError as exc:
        if nested.is_active:
            nested.rollback()
        raise _as_lisens_error(exc) from None
    except BaseException:
        if nested.is_active:
            nested.rollback()
        raise


def _as_lisens_error(exc: SQLAlchemyError) -> LisensError:
    if isinstance(exc, PoolTimeout):
        # Every pooled connection is busy (long changes running): answer now instead of queueing on.
        return Busy("no free database connection; nothing was changed, retry shortly", retry_after=2)
    if isinstance(exc, OperationalError):
        return DatabaseUnavailable(f"database unavailable: {exc.orig}")
    if isinstance(exc, IntegrityError):
        return _conflict(exc)
    if isinstance(exc, DataError):
        reason = _first_line(exc.orig)
        LOGGER.warning("value refused by the database", extra={"fields": {"reason": reason}})
        return InvalidInput(f"a value does not fit the database: {reason}", code=Code.INVALID_VALUE)
    LOGGER.error("database error", exc_info=exc)
    return DatabaseUnavailable(f"database error: {exc.__class__.__name__}", code=Code.DATABASE_ERROR)


def _conflict(exc: IntegrityError) -> LisensError:
    """The 409 of an integrity error: which record exists already, or what vanished meanwhile."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    sqlite_name = getattr(orig, "sqlite_errorname", None)  # sqlite3
    if sqlstate == UNIQUE_SQLSTATE or sqlite_name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        diag = getattr(orig, "diag", None)
        if diag is not None:
            table, key = diag.table_name or "", diag.message_detail or diag.constraint_name or ""
        else:  # "UNIQUE constraint failed: tenant.name"
            key = str(orig).partition(":")[2].strip()
            table = key.partition(".")[0]
        code, message = EXISTS_BY_TABLE.get(
            table, (Code.ALREADY_EXISTS, f"a {table or 'record'} like it exists already")
        )
        return AlreadyExists(f"{message} ({key}); nothing was changed", code=code, table=table)
    if sqlstate == FOREIGN_KEY_SQLSTATE or sqlite_name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return Conflict("a record this change refers to was removed meanwhile; nothing was changed")
    LOGGER.error("integrity error", exc_info=True)
    return DatabaseUnavailable(f"database error: {exc.__class__.__name__}", code=Code.DATABASE_ERROR)


def _first_line(orig: BaseException | None) -> str:
    return str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else "refused"
