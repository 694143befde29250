"""Load taken off the primary by a read replica: the same read requests through the app, with and without
LISENS_REPLICA_URL, counting the transactions each database served (pg_stat_database) and the statements
each engine sent.

Run: bash scripts/replica.sh stop; .venv/bin/python benchmarks/bench_replica.py [--requests 1000] [--rounds 2] [--json]

PostgreSQL comes from LISENS_BENCH_PRIMARY_URL (default: the local server, 127.0.0.1:5432, user postgres);
a database `lisens_bench_replica` is made there for the run (and dropped afterwards), and a hot standby
is started with scripts/replica.sh (and stopped afterwards if this started it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from lisens.api.app import create_app
from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = os.environ.get("LISENS_BENCH_PRIMARY_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "lisens_bench_replica"
REPLICA_PORT = int(os.environ.get("LISENS_REPLICA_PORT", "5433"))
USERS = 200
NOW = datetime(2026, 11, 22, tzinfo=UTC)
TARGET_PRIMARY_SHARE = 0.05  # with a replica, at most 5 % of the read transactions reach the primary


def url_of(database: str, *, port: int | None = None) -> str:
    url = make_url(PRIMARY).set(database=database)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def script(command: str) -> subprocess.CompletedProcess[str]:
    primary = make_url(PRIMARY)
    env = {
        **os.environ,
        "LISENS_REPLICA_PORT": str(REPLICA_PORT),
        "LISENS_REPLICA_DATABASE": DATABASE,
        "LISENS_PRIMARY_HOST": primary.host or "127.0.0.1",
        "LISENS_PRIMARY_PORT": str(primary.port or 5432),
        "LISENS_PRIMARY_USER": primary.username or "postgres",
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "replica.sh"), command], env=env, capture_output=True, text=True, check=False
    )


@contextmanager
def bench_database() -> Iterator[str]:
    admin = make_engine(PRIMARY, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}"'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        yield url_of(DATABASE)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def standby() -> Iterator[str]:
    was_running = script("status").returncode == 0
    started = script("start")
    if started.returncode != 0:
        raise SystemExit(f"scripts/replica.sh start failed: {started.stderr}")
    try:
        yield url_of(DATABASE, port=REPLICA_PORT)
    finally:
        if not was_running:
            script("stop")


def seed(url: str) -> dict[str, str]:
    engine = make_engine(url)
    upgrade(engine)
    session = make_session_factory(engine)()
    ctx = Context(session=session, actor="bench", may_correct=True)
    tenants.create_tenant(ctx, name="bench", generation="11", company="Bench AS", serial="1", at=NOW)
    tenants.set_seats(ctx, "bench", "sales-premium", USERS, at=NOW)
    for i in range(USERS):
        users.add_user(ctx, "bench", f"u{i:04}", at=NOW)
        if i % 2 == 0:
            users.assign(ctx, "bench", f"u{i:04}", plans=["sales-premium"], at=NOW)
    admin, _ = tokens.create_token(ctx, role="admin", tenant="bench", at=NOW)
    app, _ = tokens.create_token(ctx, role="app", tenant="bench", at=NOW)
    session.commit()
    session.close()
    engine.dispose()
    return {"admin": admin, "app": app}


def wait_replayed(primary_url: str, replica_url: str) -> None:
    primary, replica = make_engine(primary_url), make_engine(replica_url, read_only=True)
    with primary.connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    for _ in range(1500):
        with replica.connect() as connection:
            behind = connection.execute(
                text("SELECT pg_wal_lsn_diff(CAST(:t AS pg_lsn), pg_last_wal_replay_lsn())"), {"t": target}
            ).scalar_one()
        if behind <= 0:
            break
        time.sleep(0.02)
    primary.dispose()
    replica.dispose()


def transactions(server_url: str) -> int:
    """Transactions the server has counted for the bench database (commits and rollbacks)."""
    engine = make_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        found = connection.execute(
            text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"), {"d": DATABASE}
        ).scalar_one()
    engine.dispose()
    return int(found)


def read_requests(client: TestClient, tokens_: dict[str, str], count: int) -> None:
    """Reads as apps and admins make them: a check, a user, the panel, a page of users, in turn."""
    app = {"Authorization": f"Bearer {tokens_['app']}"}
    admin = {"Authorization": f"Bearer {tokens_['admin']}"}
    for i in range(count):
        user = f"u{i % USERS:04}"
        kind = i % 4
        if kind == 0:
            answer = client.post(
                "/v1/tenants/bench/check", headers=app, json={"users": [user], "licenses": ["superoffice.quote-cal"]}
            )
        elif kind == 1:
            answer = client.get(f"/v1/tenants/bench/users/{user}", headers=admin)
        elif kind == 2:
            answer = client.get("/v1/tenants/bench/panel", headers=admin)
        else:
            answer = client.get("/v1/tenants/bench/users", headers=admin, params={"limit": 20})
        if answer.status_code != 200:
            raise SystemExit(f"request {i} answered {answer.status_code}: {answer.text[:300]}")


def round_(primary_url: str, replica_url: str | None, tokens_: dict[str, str], count: int) -> dict[str, float]:
    engine = make_engine(primary_url)
    app = create_app(Settings(database_url=primary_url, replica_url=replica_url), engine=engine)
    statements = {"primary": 0, "replica": 0}

    def counter(where: str, target: Engine) -> None:
        @event.listens_for(target, "before_cursor_execute")
        def _count(*_: object) -> None:
            statements[where] += 1

    counter("primary", engine)
    if app.state.replica_engine is not None:
        counter("replica", app.state.replica_engine)
    replica_server = url_of("postgres", port=REPLICA_PORT)
    with TestClient(app) as client:
        read_requests(client, tokens_, 40)  # warm: connections open, catalogs loaded
        # Backends report their counts when they end: close the warm-up's connections first.
        engine.dispose()
        if app.state.replica_engine is not None:
            app.state.replica_engine.dispose()
        time.sleep(0.5)
        statements.update(primary=0, replica=0)
        primary_before, replica_before = transactions(url_of("postgres")), transactions(replica_server)
        started = time.perf_counter()
        read_requests(client, tokens_, count)
        elapsed = time.perf_counter() - started
        engine.dispose()
        if app.state.replica_engine is not None:
            app.state.replica_engine.dispose()
    time.sleep(0.5)
    primary_xacts = transactions(url_of("postgres")) - primary_before
    replica_xacts = transactions(replica_server) - replica_before
    return {
        "reads_per_s": count / elapsed,
        "primary_transactions_per_read": primary_xacts / count,
        "replica_transactions_per_read": replica_xacts / count,
        "primary_statements_per_read": statements["primary"] / count,
        "replica_statements_per_read": statements["replica"] / count,
    }


def median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with bench_database() as primary_url, standby() as replica_url:
        tokens_ = seed(primary_url)
        wait_replayed(primary_url, replica_url)
        without: list[dict[str, float]] = []
        with_: list[dict[str, float]] = []
        for _ in range(args.rounds):  # alternating, so that both see the same machine
            without.append(round_(primary_url, None, tokens_, args.requests))
            with_.append(round_(primary_url, replica_url, tokens_, args.requests))
    before, after = median_of(without), median_of(with_)
    share = after["primary_transactions_per_read"] / before["primary_transactions_per_read"]
    report = {
        "requests": args.requests,
        "rounds": args.rounds,
        "without_replica": before,
        "with_replica": after,
        "primary_share_with_replica": share,
        "throughput_ratio": after["reads_per_s"] / before["reads_per_s"],
        "target_primary_share": TARGET_PRIMARY_SHARE,
        "met": share <= TARGET_PRIMARY_SHARE,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.requests} read requests per round, {args.rounds} rounds each, medians")
    print(f"  {'':38} {'without replica':>16} {'with replica':>14}")
    for key in before:
        print(f"  {key:38} {before[key]:16.2f} {after[key]:14.2f}")
    print(f"  primary's share of read transactions with the replica: {share:.3f}")
    print(f"  throughput with / without: {report['throughput_ratio']:.2f}")
    print(f"  target (share ≤ {TARGET_PRIMARY_SHARE}): {'met' if report['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
