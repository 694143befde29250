"""Engine and session factories. SQLite gets foreign keys, WAL and write transactions that lock at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from lisens.domain.errors import InvalidInput


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; for SQLite the file's directory is created and transactions serialised."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for a malformed URL
        raise InvalidInput(
            f"database URL {url!r} is not a valid SQLAlchemy URL: {exc}", code="INVALID_DATABASE_URL"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        _serialise_sqlite(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise InvalidInput(
            f"database URL {url!r}: only sqlite and postgresql are supported", code="INVALID_DATABASE_URL"
        )
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _serialise_sqlite(engine: Engine) -> None:
    """Every transaction starts with BEGIN IMMEDIATE: the count-then-write of a seat check never races."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, instead of the driver's implicit deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Reads need no write lock: a read-only session begins a deferred transaction.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "lisens_read_only"


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on `engine`; `read_only` ones never take SQLite's write lock (they must not write)."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)
