"""Run the Alembic migrations from code: `lisens db upgrade` and the test suite use this."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from lisens.domain.errors import Code, DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (tests/db/test_migrations.py keeps them equal): checking a
# database against it needs one query, not Alembic's import and its scan of the revision files.
HEAD = "0010"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def ensure_database(engine: Engine) -> bool:
    """Create the engine's PostgreSQL database if it does not exist yet (True when it was created).

    Refused in one line naming the database and how to create it when the server cannot be reached or
    the role may not create databases. SQLite creates its file by itself.
    """
    url = engine.url
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    try:
        with engine.connect():
            return False
    except OperationalError as exc:
        if f'database "{url.database}" does not exist' not in str(exc.orig):
            raise DatabaseUnavailable(
                f"cannot reach PostgreSQL at {url.host}:{url.port or 5432}: {str(exc.orig).strip().splitlines()[-1]}",
                code=Code.DATABASE_UNAVAILABLE,
            ) from None
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"database {url.database!r} does not exist and could not be created "
            f"({str(exc.orig).strip().splitlines()[-1]}): create it with `createdb {url.database}`",
            code=Code.DATABASE_MISSING,
        ) from None
    except Exception as exc:  # a role without CREATEDB gets ProgrammingError from the driver
        raise DatabaseUnavailable(
            f"database {url.database!r} does not exist and this role may not create it ({exc.__class__.__name__}): "
            f"create it with `createdb {url.database}`",
            code=Code.DATABASE_MISSING,
        ) from None
    finally:
        server.dispose()
    return True


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (creating every table on an empty database)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def stored_revision(engine: Engine) -> str | None:
    """The revision the database records, read with one query (None for an empty database)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None  # no alembic_version table: nothing was ever migrated
