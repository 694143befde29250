"""`lisens db upgrade` on PostgreSQL: a database that does not exist is created, or refused in one line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lisens.cli.main import run
from lisens.db.engine import make_engine
from lisens.db.migrate import ensure_database
from lisens.domain.errors import Code, LisensError
from tests.db.conftest import IN_CI, POSTGRES_URL


@pytest.fixture(autouse=True)
def _postgres() -> None:
    if POSTGRES_URL is None:
        if IN_CI:
            pytest.fail("CI=true but LISENS_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
        pytest.skip("needs LISENS_TEST_DATABASE_URL (PostgreSQL)")


def _admin() -> object:
    assert POSTGRES_URL is not None
    return make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def missing() -> Iterator[str]:
    """The URL of a database that does not exist (dropped again after the test)."""
    assert POSTGRES_URL is not None
    name = f"lisens_new_{uuid.uuid4().hex[:8]}"
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    admin = _admin()
    with admin.connect() as connection:  # type: ignore[attr-defined]
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


def test_db_upgrade_creates_a_postgresql_database_that_does_not_exist(
    missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", missing, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"created database {make_url(missing).database}" in out
    assert run(["--db", missing, "db", "upgrade"]) == 0
    assert "created" not in capsys.readouterr().out


def test_a_role_that_may_not_create_databases_gets_one_line_naming_the_database(
    missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = _admin()
    with admin.connect() as connection:  # type: ignore[attr-defined]
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'lisens_nocreate'")).first()
        if exists is None:
            connection.execute(text("CREATE ROLE lisens_nocreate LOGIN NOCREATEDB"))
    admin.dispose()  # type: ignore[attr-defined]
    url = make_url(missing).set(username="lisens_nocreate", password=None)
    with pytest.raises(LisensError) as caught:
        ensure_database(make_engine(url.render_as_string(hide_password=False)))
    assert caught.value.code is Code.DATABASE_MISSING
    assert f"createdb {url.database}" in caught.value.message
    assert run(["--db", url.render_as_string(hide_password=False), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "DATABASE_MISSING" in err
