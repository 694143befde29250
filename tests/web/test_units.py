"""Where a request's unit of work runs: writes on the primary, reads on the replica when there is one, and the
primary whenever the replica lags behind a read's `min_version` or cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request

from lisens.db.engine import make_engine
from lisens.domain.errors import Code, DatabaseUnavailable, VersionNotReached, require_version
from lisens.service.context import Context
from lisens.settings import Settings
from lisens.web import units
from lisens.web.units import PRIMARY_UNTIL, Replica, read, unit_of_work

NOW = datetime(2026, 3, 1, tzinfo=UTC)
# Nothing listens on port 1: connecting is refused at once, as with a replica that is down.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/lisens"


def where(ctx: Context) -> str:
    """Which database a unit of work reads (after reaching it, as every read does)."""
    ctx.session.connection()
    return str(ctx.session.info["where"])


@dataclass
class Setup:
    app: FastAPI
    waits: list[float]

    def request(self, *, panel_session: dict[str, object] | None = None) -> Request:
        scope: dict[str, object] = {"type": "http", "app": self.app, "headers": [], "method": "GET", "path": "/"}
        if panel_session is not None:
            scope["session"] = panel_session
        return Request(scope)

    def use_replica(self, url: str) -> Replica:
        replica = Replica(sessionmaker(make_engine(url, read_only=True), info={"where": "replica"}))
        self.app.state.replica = replica
        self.app.state.read_sessions = replica.sessions
        return replica


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """An app's state with a primary (read-write and read-only factories) and no replica yet; waits are
    recorded instead of slept."""
    primary = make_engine(f"sqlite:///{tmp_path / 'primary.db'}")
    app = FastAPI()
    app.state.settings = Settings(database_url=str(primary.url))
    app.state.clock = lambda: NOW
    app.state.sessions = sessionmaker(primary, info={"where": "primary"})
    app.state.primary_read_sessions = sessionmaker(primary, info={"where": "primary-read"})
    app.state.read_sessions = app.state.primary_read_sessions
    app.state.replica = None
    waits: list[float] = []
    monkeypatch.setattr(units.time, "sleep", waits.append)
    yield Setup(app, waits)
    primary.dispose()


@pytest.fixture
def replica_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'replica.db'}"


def test_without_a_replica_reads_and_writes_go_to_the_primary(setup: Setup) -> None:
    assert read(setup.request(), "test", where) == "primary-read"
    with unit_of_work(setup.request(), "test", read_only=True) as ctx:
        assert where(ctx) == "primary-read"
    with unit_of_work(setup.request(), "test") as ctx:
        assert where(ctx) == "primary"


def test_with_a_replica_reads_go_to_the_replica_and_writes_to_the_primary(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    assert read(setup.request(), "test", where) == "replica"
    with unit_of_work(setup.request(), "test", read_only=True) as ctx:
        assert where(ctx) == "replica"
    with unit_of_work(setup.request(), "test") as ctx:
        assert where(ctx) == "primary"
    assert setup.waits == []


def lagging(replica_version: int, primary_version: int, min_version: int, asked: list[str]) -> Callable[[Context], str]:
    """A read of a tenant whose version is `replica_version` on the replica and `primary_version` on the primary."""

    def work(ctx: Context) -> str:
        asked.append(where(ctx))
        require_version("acme", replica_version if where(ctx) == "replica" else primary_version, min_version)
        return where(ctx)

    return work


def test_a_replica_behind_min_version_is_tried_again_then_the_primary_answers(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    asked: list[str] = []
    assert read(setup.request(), "test", lagging(4, 5, 5, asked)) == "primary-read"
    assert asked == ["replica"] * 5 + ["primary-read"]
    assert sum(setup.waits) == pytest.approx(0.25)


def test_a_replica_that_catches_up_answers_without_the_primary(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    asked: list[str] = []

    def work(ctx: Context) -> str:
        asked.append(where(ctx))
        require_version("acme", 3 + len(asked), 6)  # replays one version per attempt
        return where(ctx)

    assert read(setup.request(), "test", work) == "replica"
    assert asked == ["replica"] * 3
    assert len(setup.waits) == 2


def test_a_min_version_the_primary_has_not_reached_is_refused(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    asked: list[str] = []
    with pytest.raises(VersionNotReached) as raised:
        read(setup.request(), "test", lagging(5, 5, 9, asked))
    assert raised.value.code == Code.VERSION_NOT_REACHED
    assert raised.value.code.status == 409
    assert asked[-1] == "primary-read"
    assert asked.count("primary-read") == 1


def test_without_a_replica_a_min_version_not_reached_is_refused_at_once(setup: Setup) -> None:
    asked: list[str] = []
    with pytest.raises(VersionNotReached):
        read(setup.request(), "test", lagging(5, 5, 6, asked))
    assert asked == ["primary-read"]
    assert setup.waits == []


def test_an_unreachable_replica_leaves_reads_to_the_primary_and_is_logged_once(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    replica = setup.use_replica(UNREACHABLE)
    with caplog.at_level(logging.WARNING, logger="lisens.web.units"):
        assert read(setup.request(), "test", where) == "primary-read"
        # It rests after failing: the next reads go to the primary without trying it again.
        assert read(setup.request(), "test", where) == "primary-read"
        with unit_of_work(setup.request(), "test", read_only=True) as ctx:
            assert where(ctx) == "primary-read"
    assert replica.failures == 1
    assert [r.getMessage() for r in caplog.records] == ["replica unavailable; reading from the primary"]


def test_a_read_only_unit_on_an_unreachable_replica_opens_on_the_primary(setup: Setup) -> None:
    replica = setup.use_replica(UNREACHABLE)
    with unit_of_work(setup.request(), "test", read_only=True) as ctx:
        assert where(ctx) == "primary-read"
    assert replica.failures == 1


def test_a_replica_that_fails_during_a_read_leaves_it_to_the_primary(setup: Setup, replica_db: str) -> None:
    replica = setup.use_replica(replica_db)

    def work(ctx: Context) -> str:
        if where(ctx) == "replica":
            raise DatabaseUnavailable("database unavailable: terminating connection due to conflict with recovery")
        return where(ctx)

    assert read(setup.request(), "test", work) == "primary-read"
    assert replica.failures == 1


def test_a_resting_replica_is_asked_again_once_its_rest_is_over(setup: Setup, replica_db: str) -> None:
    now = [0.0]
    replica = Replica(
        sessionmaker(make_engine(UNREACHABLE, read_only=True), info={"where": "replica"}), rest=5, clock=lambda: now[0]
    )
    setup.app.state.replica = replica
    assert read(setup.request(), "test", where) == "primary-read"
    now[0] = 4.9
    assert not replica.available()
    replica.sessions = sessionmaker(make_engine(replica_db, read_only=True), info={"where": "replica"})
    now[0] = 5.0
    assert read(setup.request(), "test", where) == "replica"


def test_an_answer_the_replica_may_lack_is_asked_of_the_primary(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    assert read(setup.request(), "test", where, ask_primary=lambda found: found == "replica") == "primary-read"
    assert read(setup.request(), "test", where, ask_primary=lambda found: found is None) == "replica"


def test_a_panel_session_reads_from_the_primary_for_a_moment_after_it_changed_something(
    setup: Setup, replica_db: str
) -> None:
    setup.use_replica(replica_db)
    panel: dict[str, object] = {}
    with unit_of_work(setup.request(panel_session=panel), "test") as ctx:
        assert where(ctx) == "primary"
    assert panel[PRIMARY_UNTIL] == NOW.timestamp() + units.PANEL_STICKY
    assert read(setup.request(panel_session=panel), "test", where) == "primary-read"
    with unit_of_work(setup.request(panel_session=panel), "test", read_only=True) as ctx:
        assert where(ctx) == "primary-read"
    setup.app.state.clock = lambda: NOW.replace(minute=1)
    assert read(setup.request(panel_session=panel), "test", where) == "replica"


def test_a_failed_change_does_not_send_the_panel_to_the_primary(setup: Setup, replica_db: str) -> None:
    setup.use_replica(replica_db)
    panel: dict[str, object] = {}
    with pytest.raises(ValueError, match="refused"), unit_of_work(setup.request(panel_session=panel), "test"):
        raise ValueError("refused")
    assert PRIMARY_UNTIL not in panel
