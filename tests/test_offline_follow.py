"""`lisens.offline.Follower` against a real server: a revocation reaches a following app server within
seconds, and when the server is gone the last verified answers stay until their TTL."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from lisens.api.app import create_app
from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.offline import Follower
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings
from lisens.signing import generate_keys

AT = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass
class Served:
    base: str
    app: str
    admin: str
    public_key: bytes
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'follow.db'}"
    engine = make_engine(url)
    upgrade(engine)
    signing_key, public_key = generate_keys(tmp_path / "keys")
    with make_session_factory(engine)() as session:
        ctx = Context(session, "seed", may_correct=True)
        tenants.create_tenant(ctx, name="acme", generation="11", at=AT)
        tenants.set_seats(ctx, "acme", "sales-premium", 2, at=AT)
        users.add_user(ctx, "acme", "alice", at=AT)
        users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
        app_token = tokens.create_token(ctx, role="app", tenant="acme", at=AT)[0]
        admin_token = tokens.create_token(ctx, role="admin", tenant="acme", at=AT)[0]
        session.commit()
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=url, signing_key=signing_key)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    # The first request of a new server loads what it keeps (catalogs, the token, the tenant): done here,
    # so that a test's short timeouts measure what it is about, not the start-up.
    warm = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/tenants/acme/events", headers={"Authorization": f"Bearer {app_token}"}
    )
    with urllib.request.urlopen(warm, timeout=30) as answer:
        assert answer.status == 200
    yield Served(f"http://127.0.0.1:{port}", app_token, admin_token, public_key.read_bytes(), server, thread)
    server.should_exit = True
    thread.join(timeout=10)


def _unassign_plan(served: Served) -> None:
    request = urllib.request.Request(
        f"{served.base}/v1/tenants/acme/users/alice/assignments",
        data=json.dumps({"plan": True}).encode(),
        headers={"Authorization": f"Bearer {served.admin}", "Content-Type": "application/json"},
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_a_revocation_reaches_a_following_app_server_within_seconds(served: Served) -> None:
    follower = Follower(served.base, served.app, "acme", served.public_key, interval=0.2)
    follower.poll()
    assert follower.has_license("alice", "superoffice.quote-cal")
    following = threading.Thread(target=follower.follow, daemon=True)
    following.start()
    _unassign_plan(served)
    revoked = time.monotonic()
    while follower.has_license("alice", "quote-cal") and time.monotonic() - revoked < 10:
        time.sleep(0.05)
    took = time.monotonic() - revoked
    follower.stopped.set()
    following.join(timeout=5)
    assert not follower.has_license("alice", "quote-cal")
    assert took < 5
    assert follower.last_error is None


def test_without_the_server_the_last_verified_answers_stay_and_say_why(served: Served) -> None:
    follower = Follower(served.base, served.app, "acme", served.public_key, interval=0.2, timeout=1)
    follower.poll()
    served.server.should_exit = True
    served.thread.join(timeout=10)
    with pytest.raises(urllib.error.URLError):
        follower.poll()
    following = threading.Thread(target=follower.follow, daemon=True)
    following.start()
    time.sleep(0.5)
    follower.stopped.set()
    following.join(timeout=5)
    assert follower.has_license("alice", "superoffice.quote-cal")  # the last verified state
    assert follower.last_error is not None
