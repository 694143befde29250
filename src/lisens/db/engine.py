"""Engine and session factories. SQLite gets foreign keys, WAL and write transactions that lock at once.

Every wait is bounded: SQLite's busy timeout, PostgreSQL's `lock_timeout` and the pool's checkout
timeout. A wait that runs out becomes `Busy` (TENANT_BUSY or DATABASE_BUSY, with a retry hint),
never a driver error or a request hanging on an exhausted pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from lisens.db.changes import WATCH, ChangeWatch
from lisens.domain.errors import Busy, Code, InvalidInput

# Seconds. Long enough for any ordinary change to finish; short enough that a request waiting behind
# a long one (a 100,000-row bulk, a generation move) answers soon, and a pool connection is given back.
LOCK_TIMEOUT = 5.0
POOL_TIMEOUT = 10.0
RETRY_AFTER = 2  # seconds, the hint sent with a Busy answer
# Seconds to reach a replica: one that cannot be reached is soon given up for the primary.
REPLICA_CONNECT_TIMEOUT = 2
PG_LOCK_NOT_AVAILABLE = "55P03"


def make_engine(
    url: str,
    *,
    lock_timeout: float = LOCK_TIMEOUT,
    pool_timeout: float = POOL_TIMEOUT,
    read_only: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`; for SQLite the file's directory is created and transactions serialised.

    A `read_only` engine (a replica's) opens connections that refuse every write: PostgreSQL's
    `default_transaction_read_only`, SQLite's `query_only`; its pool settings are the same, and it
    gives up connecting to PostgreSQL after REPLICA_CONNECT_TIMEOUT seconds (unless the URL says).
    `pool_size` and `max_overflow` size a PostgreSQL engine's pool (SQLAlchemy's 5 and 10 if not given).
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for a malformed URL
        raise InvalidInput(
            f"database URL {url!r} is not a valid SQLAlchemy URL: {exc}", code=Code.INVALID_DATABASE_URL
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": lock_timeout}, **kwargs)
        _serialise_sqlite(engine, lock_timeout, read_only=read_only)
    elif parsed.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {}
        if read_only and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = REPLICA_CONNECT_TIMEOUT
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
        if max_overflow is not None:
            kwargs["max_overflow"] = max_overflow
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_timeout=pool_timeout, connect_args=connect_args, **kwargs
        )
        _bound_postgres_waits(engine, lock_timeout, read_only=read_only)
    else:
        raise InvalidInput(
            f"database URL {url!r}: only sqlite and postgresql are supported", code=Code.INVALID_DATABASE_URL
        )
    _map_timeouts(engine)
    return engine


def _serialise_sqlite(engine: Engine, lock_timeout: float, *, read_only: bool = False) -> None:
    """Every transaction starts with BEGIN IMMEDIATE: the count-then-write of a seat check never races."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, instead of the driver's implicit deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Reads need no write lock: a read-only session begins a deferred transaction.
        reads = read_only or connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")


def _bound_postgres_waits(engine: Engine, lock_timeout: float, *, read_only: bool = False) -> None:
    """A statement waiting for a row lock (another change to the same tenant) gives up after `lock_timeout`;
    a `read_only` engine's transactions are read-only (as a hot standby's are anyway)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
        if read_only:
            cursor.execute("SET default_transaction_read_only = on")
        cursor.close()
        dbapi_connection.commit()


def _map_timeouts(engine: Engine) -> None:
    """Lock waits that ran out become Busy errors with a stable code, raised instead of the driver's."""

    @event.listens_for(engine, "handle_error")
    def _handle(context: ExceptionContext) -> None:
        busy = busy_error(context.original_exception, engine.dialect.name)
        if busy is not None:
            raise busy from None


def busy_error(original: BaseException, dialect: str) -> Busy | None:
    """The Busy error a driver's error means (a lock wait that ran out), or None."""
    if getattr(original, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE:
        return Busy(
            "another change to this tenant holds its lock; nothing was changed, retry shortly",
            code=Code.TENANT_BUSY,
            retry_after=RETRY_AFTER,
        )
    if dialect == "sqlite" and "database is locked" in str(original):
        return Busy(
            "the database is busy with another write; nothing was changed, retry shortly",
            code=Code.DATABASE_BUSY,
            retry_after=RETRY_AFTER,
        )
    return None


READ_ONLY = "lisens_read_only"


def make_session_factory(
    engine: Engine, *, read_only: bool = False, watch: ChangeWatch | None = None
) -> sessionmaker[Session]:
    """Sessions on `engine`; `read_only` ones never take SQLite's write lock (they must not write).
    With a `watch`, what their transactions change is told to it as soon as they commit."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False, info={WATCH: watch} if watch is not None else None)
