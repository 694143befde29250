"""Alembic environment: migrates the database given by the caller, or by LISENS_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lisens.db.engine import make_engine
from lisens.db.models import Base
from lisens.settings import Settings

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = make_engine(url)
    with engine.connect() as fresh:
        run_with(fresh)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `lisens db upgrade`")
run_online()
