"""`lisens serve`: a real server with two workers logs, as JSON, when one of them dies."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lisens.cli.server import WorkerDeaths
from lisens.db.engine import make_session_factory
from lisens.service import tenants, tokens
from lisens.service.context import Context
from tests.db.conftest import BACKENDS, T0, create_database, drop_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(log: Path, pattern: str, *, count: int = 1, timeout: float = 60) -> list[re.Match[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(re.finditer(pattern, log.read_text(errors="replace")))
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} x{count} in the log:\n{log.read_text(errors='replace')}")


@contextmanager
def _serving(tmp_path: Path, name: str, *serve: str, db: str | None = None) -> Iterator[tuple[Path, int]]:
    """`lisens serve` in a real process, on `db` or a fresh SQLite file: its log and its port; stopped after."""
    log = tmp_path / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISENS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    port = _free_port()
    command = [sys.executable, "-m", "lisens.cli", "--db", db or f"sqlite:///{tmp_path / f'{name}.db'}"]
    command += ["serve", "--port", str(port), *serve]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield log, port
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_worker_killed_under_lisens_serve_is_logged_as_a_warning_and_replaced(tmp_path: Path) -> None:
    with _serving(tmp_path, "serve", "--workers", "2") as (log, _):
        started = _wait_for(log, r"Started server process \[(\d+)\]", count=2)
        _wait_for(log, r"Application startup complete", count=2)
        victim = int(started[0].group(1))
        os.kill(victim, signal.SIGKILL)
        _wait_for(log, rf"Child process \[{victim}\] died")
        _wait_for(log, r"Started server process \[(\d+)\]", count=3)  # its replacement
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    died = [line for line in lines if line.get("event") == "worker_died"]
    assert len(died) == 1
    assert died[0]["level"] == "warning"
    assert died[0]["pid"] == victim
    assert died[0]["logger"] == "uvicorn.error"
    assert any(line["message"].startswith("Started parent process") for line in lines)  # the supervisor logs


def test_the_worker_death_filter_leaves_other_messages_alone() -> None:
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, message, None, None)

    died = record("Child process [4242] died")
    other = record("Started server process [4242]")
    assert WorkerDeaths().filter(died)
    assert WorkerDeaths().filter(other)
    assert (died.levelname, died.fields) == ("WARNING", {"event": "worker_died", "pid": 4242})  # type: ignore[attr-defined]
    assert other.levelname == "INFO"
    assert not hasattr(other, "fields")


def test_the_demo_server_makes_a_signing_key_so_snapshots_and_packages_work(tmp_path: Path) -> None:
    with _serving(tmp_path, "demo", "--demo") as (log, port):
        key = _wait_for(log, r"signing key for packages and snapshots: (\S+) \(generated")[0].group(1)
        admin = _wait_for(log, r"admin\s+(\S+)")[0].group(1)
        # Logged once the socket listens (one worker starts its app before it binds the port).
        _wait_for(log, r"Uvicorn running on")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/tenants/demo/snapshot", headers={"Authorization": f"Bearer {admin}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["signature"]
    assert Path(key) == tmp_path / "keys" / "demo.key"
    assert oct(Path(key).stat().st_mode & 0o777) == "0o600"


def _healthz_count(metrics: str) -> float:
    found = re.search(r'lisens_http_requests_total\{method="GET",route="/healthz",status="200"\} ([0-9.e+]+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_metrics_under_several_workers_count_the_requests_of_all_of_them(tmp_path: Path) -> None:
    with _serving(tmp_path, "metrics", "--workers", "2") as (log, port):
        _wait_for(log, r"Application startup complete", count=2)
        for _ in range(40):  # a new connection each: the two workers share them
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
        seen = set()
        for _ in range(10):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                seen.add(_healthz_count(answer.read().decode()))
    assert seen == {40.0}


def _status(port: int, path: str, token: str, *, method: str = "GET", body: object = None) -> int:
    """The status of one request on a new connection (the workers of a server share connections)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_revoked_token_fails_on_its_very_next_request_on_every_worker(tmp_path: Path, backend: str) -> None:
    database, drop = create_database(backend, tmp_path)
    try:
        with make_session_factory(database.engine)() as session:
            ctx = Context(session, "setup", may_correct=True)
            tenants.create_tenant(ctx, name="acme", generation="11", at=T0)
            vendor, _ = tokens.create_token(ctx, role="vendor", at=T0)
            app, info = tokens.create_token(ctx, role="app", tenant="acme", at=T0)
            session.commit()
        check = {"users": ["alice"], "licenses": ["quote-cal"]}
        with _serving(tmp_path, "revoke", "--workers", "2", db=database.url) as (log, port):
            _wait_for(log, r"Application startup complete", count=2)
            # Many connections: both workers answer, and keep the token's principal in memory.
            assert {_status(port, "/v1/tenants/acme/check", app, method="POST", body=check) for _ in range(40)} == {200}
            assert _status(port, f"/v1/tokens/{info.id}", vendor, method="DELETE") == 200
            # Fewer than the failed authentications allowed from one address in a minute (20).
            after = [_status(port, "/v1/tenants/acme/check", app, method="POST", body=check) for _ in range(16)]
        assert after == [401] * 16
    finally:
        drop_database(database, drop)
