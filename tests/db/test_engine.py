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
