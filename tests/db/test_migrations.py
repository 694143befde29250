"""The Alembic migrations build exactly the models' schema on every backend (`alembic check` is clean)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lisens.db.migrate import HEAD, alembic_config, current_revision, stored_revision
from lisens.db.models import Base
from tests.db.conftest import Database


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_database_is_at_the_head_revision(database: Database) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(database.engine) == head


def test_the_head_the_cli_checks_against_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_the_stored_revision_is_read_without_alembic(database: Database) -> None:
    assert stored_revision(database.engine) == current_revision(database.engine)
