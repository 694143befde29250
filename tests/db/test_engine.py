"""Engines: a read-only one (a replica's) refuses every write on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from lisens.db.engine import make_engine
from tests.db.conftest import Database


def test_a_read_only_engine_reads_and_refuses_every_write(database: Database) -> None:
    engine = make_engine(database.url, read_only=True)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM tenant")).scalar_one() >= 0
        with (
            pytest.raises(SQLAlchemyError) as raised,
            engine.begin() as connection,
        ):
            connection.execute(text("CREATE TABLE lisens_refused (i INTEGER)"))
        assert "read-only" in str(raised.value) or "readonly" in str(raised.value)
    finally:
        engine.dispose()


def test_a_read_write_engine_does_not_refuse_writes(database: Database) -> None:
    engine = make_engine(database.url)
    try:
        connection = engine.connect()
        transaction = connection.begin()
        connection.execute(text("CREATE TABLE lisens_allowed (i INTEGER)"))
        transaction.rollback()
        connection.close()
    finally:
        engine.dispose()


def test_a_postgresql_engine_is_pooled_as_it_is_told_and_a_replica_gives_up_connecting_soon() -> None:
    # Nothing is connected: the engine only holds its settings.
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", read_only=True, pool_size=3, max_overflow=7)
    assert engine.pool.size() == 3  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == 7  # type: ignore[attr-defined]
    with pytest.raises(SQLAlchemyError), engine.connect():
        pass
    engine.dispose()
