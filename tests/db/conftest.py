"""Database fixtures: every test here runs on SQLite and on PostgreSQL, on a schema built by Alembic.

PostgreSQL comes from LISENS_TEST_DATABASE_URL. In CI (CI=true) it is required: an unset or
unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lisens.db.engine import make_engine
from lisens.db.migrate import upgrade
from lisens.service.context import Context

POSTGRES_URL = os.environ.get("LISENS_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL or IN_CI else ["sqlite"]
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
# The server's clock in database tests: later than every time a test records its changes at, so each
# `at=` a test gives is a vendor's correction recorded in order (as the vendor's CLI would).
LATER = datetime(2100, 1, 1, tzinfo=UTC)


def later() -> datetime:
    return LATER


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine


def _postgres_schema_url(schema: str) -> str:
    if not POSTGRES_URL:
        pytest.fail("CI=true but LISENS_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
    url = make_url(POSTGRES_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def create_database(backend: str, directory: Path) -> tuple[Database, object]:
    """A new, migrated, empty database; returns it and a token for `drop_database`."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'lisens-{uuid.uuid4().hex[:8]}.db'}"
        engine = make_engine(url)
        upgrade(engine)
        return Database(backend, url, engine), None
    schema = f"lisens_test_{uuid.uuid4().hex[:12]}"
    assert POSTGRES_URL is not None or pytest.fail("no PostgreSQL URL")
    admin = make_engine(POSTGRES_URL or "")
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc.orig}")
    url = _postgres_schema_url(schema)
    engine = make_engine(url)
    upgrade(engine)
    return Database(backend, url, engine), (admin, schema)


def drop_database(database: Database, token: object) -> None:
    database.engine.dispose()
    if token is not None:
        admin, schema = token  # type: ignore[misc]
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db, token = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    drop_database(db, token)


@pytest.fixture
def fresh_database(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of the same backend whose changes are committed for real (for concurrency tests)."""
    db, token = create_database(database.backend, tmp_path)
    yield db
    drop_database(db, token)


@pytest.fixture
def ctx(database: Database) -> Iterator[Context]:
    """A unit of work inside one transaction that is rolled back after the test."""
    connection = database.engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield Context(session=session, actor="test", clock=later, may_correct=True)
    finally:
        session.close()
        transaction.rollback()
        connection.close()
