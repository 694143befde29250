"""An API on a real database (SQLite and PostgreSQL) with two tenants and tokens of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from lisens.api.app import create_app
from lisens.db.changes import WATCH
from lisens.db.engine import make_session_factory
from lisens.db.repositories import TenantRepository, UserRepository
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings
from lisens.signing import generate_keys
from tests.db.conftest import BACKENDS, Database, create_database, drop_database

AT = datetime(2026, 3, 1, tzinfo=UTC)
# What only the other tenant knows: it must never appear in an answer to someone else.
CANARY_COMPANY = "Globex Secret Holdings"
CANARY_SERIAL = "SERIAL-GLOBEX-4242"


@dataclass
class Api:
    client: TestClient
    database: Database
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    sessions: sessionmaker[Session] | None = None  # the current test's, inside its rolled-back transaction

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def session(self) -> Session:
        """A session that sees what the app sees (and is rolled back with the test)."""
        return (self.sessions or make_session_factory(self.database.engine))()


def seed(database: Database, api: Api) -> None:
    session = make_session_factory(database.engine)()
    ctx = Context(session=session, actor="seed", may_correct=True)
    tenants.create_tenant(ctx, name="acme", generation="11", company="Acme AS", serial="1", at=AT)
    tenants.set_seats(ctx, "acme", "sales-premium", 3, at=AT)
    tenants.set_seats(ctx, "acme", "sales-essential", 3, at=AT)
    for name in ("alice", "bob"):
        users.add_user(ctx, "acme", name, at=AT)
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    tenants.create_tenant(ctx, name="globex", generation="7", company=CANARY_COMPANY, serial=CANARY_SERIAL, at=AT)
    tenants.set_seats(ctx, "globex", "user", 2, at=AT)
    tenants.add_owner(ctx, "globex", "GLOBEXCO", at=AT)
    tenants.add_partner_license(ctx, "globex", "GLOBEXCO.widget", license_type="user", unrestricted=True, at=AT)
    users.add_user(ctx, "globex", "gina", at=AT)
    users.assign(ctx, "globex", "gina", licenses=["user"], at=AT)
    for who, role, tenant, user in (
        ("vendor", "vendor", None, None),
        ("acme-admin", "admin", "acme", None),
        ("acme-app", "app", "acme", "alice"),
        ("globex-admin", "admin", "globex", None),
        ("globex-app", "app", "globex", "gina"),
    ):
        plain, info = tokens.create_token(ctx, role=role, tenant=tenant, user=user, at=AT)
        api.tokens[who] = plain
        api.token_ids[who] = info.id
    repo = UserRepository(session)
    for tenant, name in (("acme", "alice"), ("acme", "bob"), ("globex", "gina")):
        tenant_row = TenantRepository(session).get_by_name(tenant)
        assert tenant_row is not None
        row = repo.get(tenant_row.id, name)
        assert row is not None
        api.user_ids[name] = row.id
    session.commit()
    session.close()


@pytest.fixture(scope="module", params=BACKENDS)
def committed_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The seeded API whose changes are committed: for tests that need other connections to see them
    (concurrent requests, a second app, a lock held elsewhere). Changes stay for the module."""
    directory = Path(tmp_path_factory.mktemp("api"))
    database, token = create_database(request.param, directory)
    signing_key, _ = generate_keys(directory / "keys")
    app = create_app(Settings(database_url=database.url, signing_key=signing_key), engine=database.engine)
    with TestClient(app) as client:
        made = Api(client=client, database=database)
        seed(database, made)
        yield made
    drop_database(database, token)


@pytest.fixture
def api(committed_api: Api) -> Iterator[Api]:
    """The seeded API inside one transaction that is rolled back after the test: each test starts from
    the seed, whatever the tests before it changed. The app's units of work become savepoints of it."""
    app = committed_api.client.app
    connection = committed_api.database.engine.connect()
    outer = connection.begin()
    saved = app.state.sessions, app.state.read_sessions
    joined = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={WATCH: app.state.watch},  # the app's caches hear the test's changes, as they would its own
    )
    app.state.sessions = app.state.read_sessions = joined
    app.state.cache.clear()
    committed_api.sessions = joined
    try:
        yield committed_api
    finally:
        committed_api.sessions = None
        app.state.sessions, app.state.read_sessions = saved
        outer.rollback()
        connection.close()
        app.state.cache.clear()
