"""The use cases run on the databases of tests/db/conftest.py: SQLite and PostgreSQL."""

from tests.db.conftest import ctx, database, fresh_database

__all__ = ["ctx", "database", "fresh_database"]
