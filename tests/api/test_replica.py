"""The API with a real hot standby (scripts/replica.sh): reads are served there, writes on the primary, and a read
with `min_version` sees the write it follows even while the standby lags.

PostgreSQL only. Like the rest of the PostgreSQL half, in CI (CI=true) a standby that cannot be started fails
the run instead of skipping it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from lisens.api.app import create_app
from lisens.db.engine import make_engine
from lisens.domain.errors import require_version
from lisens.service import users
from lisens.service.context import Context
from lisens.service.state import load_state
from lisens.settings import Settings
from lisens.signing import generate_keys
from lisens.web.units import read
from tests.api.conftest import Api, seed
from tests.db.conftest import IN_CI, POSTGRES_URL, Database, create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
REPLICA_PORT = int(os.environ.get("LISENS_TEST_REPLICA_PORT", "5433"))


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: the replica tests must run: {reason}")
    pytest.skip(reason)


def _script(command: str, primary: str) -> subprocess.CompletedProcess[str]:
    url = make_url(primary)
    env = {
        **os.environ,
        "LISENS_REPLICA_PORT": str(REPLICA_PORT),
        "LISENS_REPLICA_DATABASE": url.database or "postgres",
        "LISENS_PRIMARY_HOST": url.host or "127.0.0.1",
        "LISENS_PRIMARY_PORT": str(url.port or 5432),
        "LISENS_PRIMARY_USER": url.username or "postgres",
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "replica.sh"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def standby() -> Iterator[str]:
    """A hot standby of the test PostgreSQL, started by scripts/replica.sh (and stopped if this started it)."""
    if not POSTGRES_URL:
        _unavailable("no LISENS_TEST_DATABASE_URL: the replica tests need PostgreSQL")
    assert POSTGRES_URL is not None
    if make_url(POSTGRES_URL).get_backend_name() != "postgresql":
        _unavailable("LISENS_TEST_DATABASE_URL is not PostgreSQL")
    was_running = _script("status", POSTGRES_URL).returncode == 0
    started = _script("start", POSTGRES_URL)
    if started.returncode != 0:
        _unavailable(f"scripts/replica.sh start failed ({started.returncode}): {started.stderr.strip()[-2000:]}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        if not was_running:
            _script("stop", POSTGRES_URL)


def replica_url(standby: str, database: Database) -> str:
    """The test schema's URL (its search_path) on the standby."""
    port = make_url(standby).port
    return make_url(database.url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def wait_replayed(primary: Engine, replica: Engine, timeout: float = 30) -> None:
    """Until the standby has replayed everything the primary has committed so far."""
    with primary.connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with replica.connect() as connection:
            behind = connection.execute(
                text("SELECT pg_wal_lsn_diff(CAST(:target AS pg_lsn), pg_last_wal_replay_lsn())"), {"target": target}
            ).scalar_one()
        if behind <= 0:
            return
        time.sleep(0.02)
    pytest.fail(f"the standby did not replay the primary's WAL within {timeout} s")


def pause_replay(replica: Engine, timeout: float = 10) -> None:
    """Until the standby has stopped replaying (a pause is only requested at first)."""
    deadline = time.monotonic() + timeout
    with replica.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
        while connection.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar_one() != "paused":
            if time.monotonic() > deadline:
                pytest.fail(f"the standby did not pause its replay within {timeout} s")
            connection.rollback()
            time.sleep(0.01)


@dataclass
class Replicated:
    api: Api
    app: FastAPI
    replica: Engine  # a separate connection to the standby, for pausing its replay

    def statements(self) -> dict[str, int]:
        return self.app.state.statement_counts  # type: ignore[no-any-return]


def version_read(request: Request, tenant: str, user: str, min_version: int | None) -> dict[str, object]:
    """A read as a service with `min_version` makes it: the tenant's version, then what is asked."""

    def work(ctx: Context) -> dict[str, object]:
        state = load_state(ctx, tenant)
        require_version(tenant, state.row.version, min_version)
        recovering = ctx.session.connection().execute(text("SELECT pg_is_in_recovery()")).scalar_one()
        return {
            "version": state.row.version,
            "plan": users.show_user(ctx, tenant, user).plan,
            "on_replica": bool(recovering),
        }

    return read(request, "test", work)


@pytest.fixture(scope="module")
def replicated(standby: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    directory = Path(tmp_path_factory.mktemp("replica"))
    database, token = create_database("postgresql", directory)
    url = replica_url(standby, database)
    replica = make_engine(url)
    signing_key, _ = generate_keys(directory / "keys")
    app = create_app(
        Settings(database_url=database.url, replica_url=url, signing_key=signing_key), engine=database.engine
    )
    counts = {"primary": 0, "replica": 0}
    app.state.statement_counts = counts

    @event.listens_for(database.engine, "before_cursor_execute")
    def _on_primary(*_: object) -> None:
        counts["primary"] += 1

    @event.listens_for(app.state.replica_engine, "before_cursor_execute")
    def _on_replica(*_: object) -> None:
        counts["replica"] += 1

    @app.get("/test/tenants/{tenant}/users/{user}/plan")
    def plan(request: Request, tenant: str, user: str, min_version: int | None = None) -> dict[str, object]:
        return version_read(request, tenant, user, min_version)

    try:
        with TestClient(app) as client:
            made = Api(client=client, database=database)
            seed(database, made)
            wait_replayed(database.engine, replica)
            yield Replicated(made, app, replica)
    finally:
        with replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        replica.dispose()
        drop_database(database, token)


def test_the_read_session_is_on_the_standby_and_the_write_session_on_the_primary(replicated: Replicated) -> None:
    state = replicated.app.state
    with state.read_sessions() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    with state.sessions() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False


def test_reads_are_served_by_the_replica_and_leave_the_primary_alone(replicated: Replicated) -> None:
    api = replicated.api
    assert replicated.app.state.watch.wait_listening(10)
    # Tokens are looked up on the primary (a revocation must be exact), then kept in memory.
    for who in ("acme-admin", "acme-app"):
        assert api.client.get("/v1/tenants/acme/users", headers=api.headers(who)).status_code in (200, 403)
    before = dict(replicated.statements())
    for _ in range(5):
        assert api.client.get("/v1/tenants/acme/users/alice", headers=api.headers("acme-admin")).status_code == 200
        answer = api.client.post(
            "/v1/tenants/acme/check",
            headers=api.headers("acme-app"),
            json={"users": ["alice"], "licenses": ["superoffice.quote-cal"]},
        )
        assert answer.status_code == 200
        assert answer.json()["results"][0]["held"] is True
    after = replicated.statements()
    assert after["primary"] == before["primary"]
    assert after["replica"] - before["replica"] >= 5


def test_a_write_goes_to_the_primary(replicated: Replicated) -> None:
    api = replicated.api
    before = dict(replicated.statements())
    answer = api.client.post("/v1/tenants/acme/users", headers=api.headers("acme-admin"), json={"name": "carol"})
    assert answer.status_code == 201, answer.text
    assert replicated.statements()["primary"] > before["primary"]


def test_a_read_with_the_written_version_sees_the_write_while_the_replica_lags(replicated: Replicated) -> None:
    api = replicated.api
    pause_replay(replicated.replica)
    try:
        answer = api.client.post(
            "/v1/tenants/acme/users/bob/assignments",
            headers=api.headers("acme-admin"),
            json={"plans": ["sales-essential"]},
        )
        assert answer.status_code in (200, 201), answer.text
        with api.session() as session:  # the primary: the version the write left
            written = session.execute(text("SELECT version FROM tenant WHERE name = 'acme'")).scalar_one()
        header = answer.headers.get("Lisens-Version")
        if header is not None:
            assert int(header) == written

        # Without min_version the paused replica answers, from before the write.
        stale = api.client.get("/test/tenants/acme/users/bob/plan").json()
        assert stale["on_replica"] is True
        assert stale["version"] < written
        assert stale["plan"] is None

        # With it, the replica is tried for a moment, then the primary answers with the write.
        started = time.monotonic()
        fresh = api.client.get("/test/tenants/acme/users/bob/plan", params={"min_version": written})
        waited = time.monotonic() - started
        assert fresh.status_code == 200, fresh.text
        assert fresh.json() == {"version": written, "plan": "sales-essential", "on_replica": False}
        assert 0.2 <= waited < 5

        # A version the primary has not reached either is refused.
        ahead = api.client.get("/test/tenants/acme/users/bob/plan", params={"min_version": written + 1})
        assert ahead.status_code == 409
        assert ahead.json()["code"] == "VERSION_NOT_REACHED"
    finally:
        with replicated.replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))

    # Once replayed, the replica answers the same read itself.
    wait_replayed(api.database.engine, replicated.replica)
    caught_up = api.client.get("/test/tenants/acme/users/bob/plan", params={"min_version": written}).json()
    assert caught_up == {"version": written, "plan": "sales-essential", "on_replica": True}


def test_a_token_made_a_moment_ago_works_while_the_replica_lags(replicated: Replicated) -> None:
    api = replicated.api
    pause_replay(replicated.replica)
    try:
        made = api.client.post("/v1/tokens", headers=api.headers("vendor"), json={"role": "admin", "tenant": "acme"})
        assert made.status_code == 201, made.text
        fresh = {"Authorization": f"Bearer {made.json()['token']}"}
        assert api.client.get("/v1/tenants/acme", headers=fresh).status_code == 200
    finally:
        with replicated.replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))


def test_an_unreachable_replica_leaves_every_read_to_the_primary(replicated: Replicated, tmp_path: Path) -> None:
    database = replicated.api.database
    app = create_app(
        Settings(database_url=database.url, replica_url="postgresql+psycopg://postgres@127.0.0.1:1/none"),
        engine=database.engine,
    )
    with TestClient(app) as client:
        headers = replicated.api.headers("acme-admin")
        for _ in range(3):
            assert client.get("/v1/tenants/acme/users/alice", headers=headers).status_code == 200
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "replica": "OperationalError"}
    assert app.state.replica.failures == 1


def test_readiness_says_whether_the_replica_answers(replicated: Replicated) -> None:
    answer = replicated.api.client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "replica": "ok"}


def test_a_check_given_the_writes_version_sees_it_while_the_replica_lags_and_none_is_kept_stale(
    replicated: Replicated,
) -> None:
    api = replicated.api
    body: dict[str, object] = {"users": ["bob"], "licenses": ["quote-cal"]}
    check = "/v1/tenants/acme/check"
    api.client.post(check, json=body, headers=api.headers("acme-app"))
    pause_replay(replicated.replica)
    try:
        answer = api.client.post(
            "/v1/tenants/acme/users/bob/assignments",
            headers=api.headers("acme-admin"),
            json={"plans": ["sales-premium"]},
        )
        assert answer.status_code == 200, answer.text
        written = int(answer.headers["Lisens-Version"])
        # The fastest answer comes from the paused replica, from before the write; it is not kept.
        for _ in range(2):
            stale = api.client.post(check, json=body, headers=api.headers("acme-app")).json()
            assert stale["version"] < written
            assert stale["results"][0]["held"] is False
        fresh = api.client.post(check, json={**body, "min_version": written}, headers=api.headers("acme-app"))
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["version"] == written
        assert fresh.json()["results"][0]["held"] is True
    finally:
        with replicated.replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
    wait_replayed(api.database.engine, replicated.replica)
    caught_up = api.client.post(check, json=body, headers=api.headers("acme-app")).json()
    assert caught_up["version"] >= written
    assert caught_up["results"][0]["held"] is True
