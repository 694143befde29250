"""The change feed's cost: an assignment with and without webhooks and a running worker; commit to delivery.

Run: .venv/bin/python benchmarks/bench_events.py [--json] [--changes 300] [--rounds 4] [--database URL]
With `--database postgresql+psycopg://postgres@127.0.0.1:5432/NAME` it runs on PostgreSQL, in a fresh
database `NAME_<random>` it creates on that server and drops at the end (a temporary SQLite file without).
The event is the audit entry the assignment writes anyway, and deliveries are derived from the log by
sequence, so the write path gains nothing: `ratio` compares an assignment with three endpoints
subscribed to one with none (target at most 1.15). `ratio_while_delivering` is recorded: a worker
thread in the same process delivering at the same time (sharing the interpreter and, on SQLite, the
one write lock). Latency: from each commit to the first delivery attempt
at a local receiver, with `lisens worker` polling as it does by default.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import tenants, users, webhooks
from lisens.service.uow import unit_of_work
from lisens.service.worker import Worker

ENDPOINTS = 3


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """The URL of an empty database: a temporary SQLite file, or a new PostgreSQL database on the server
    of `url` (named after its database, with a random suffix), dropped afterwards."""
    if url is None or not url.startswith("postgresql"):
        yield url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        return
    parsed = make_url(url)
    name = f"{parsed.database or 'lisens_bench'}_{uuid.uuid4().hex[:8]}"
    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def receiver(arrivals: dict[str, float]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            data = json.loads(body)["data"]
            arrivals.setdefault(f"{data['tenant']}{self.path}:{data['seq']}", time.perf_counter())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def changes(url: str, tenant: str, count: int, *, commits: dict[int, float] | None = None) -> float:
    """Seconds per assignment (assign or unassign, each its own transaction) over `count` changes."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
        tenants.create_tenant(ctx, name=tenant, generation="11")
        tenants.set_seats(ctx, tenant, "sales-premium", 10)
        users.add_user(ctx, tenant, "u")
    spent = 0.0
    for n in range(count):
        start = time.perf_counter()
        with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
            if n % 2 == 0:
                users.assign(ctx, tenant, "u", plans=["sales-premium"])
            else:
                users.unassign(ctx, tenant, "u", plan=True)
        done = time.perf_counter()
        spent += done - start
        if commits is not None:
            commits[n + 4] = done  # entries 1-3: tenant, seats, user
        time.sleep(0.01)  # both rounds paced alike: a stream of changes, with the worker working between
    engine.dispose()
    return spent / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--database", "--url", dest="database", default=None)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with fresh_database(args.database) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)

    # Alternate baseline and feed rounds so both see the same machine.
    base_runs: list[float] = []
    event_runs: list[float] = []
    feed_runs: list[float] = []
    arrivals: dict[str, float] = {}
    server = receiver(arrivals)
    for hook in range(ENDPOINTS):
        with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
            webhooks.add_webhook(ctx, None, f"http://127.0.0.1:{server.server_port}/{hook}")
    worker = Worker(unit=lambda: unit_of_work(factory, actor="worker", catalog_dir=None))
    worker.tick = 3600
    latencies: list[float] = []
    for round_ in range(args.rounds):
        # the baseline (endpoints disabled) and the event's write (endpoints subscribed, no worker
        # running: deliveries wait in the log), in alternating order so drift falls on both
        for enabled in (False, True) if round_ % 2 == 0 else (True, False):
            with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
                for hook in webhooks.list_webhooks(ctx, None):
                    webhooks.set_enabled(ctx, None, hook.id, enabled=enabled)
            runs = event_runs if enabled else base_runs
            runs.append(changes(url, f"{'event' if enabled else 'base'}{round_}", args.changes))
        with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
            for hook in webhooks.list_webhooks(ctx, None):
                webhooks.set_enabled(ctx, None, hook.id, enabled=True)
        # The worker first catches up with the earlier rounds (the endpoints, enabled again, receive what
        # they missed): the latency measured is a caught-up worker's, not the backlog's.
        worker.run_once()
        worker.stopped.clear()
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        time.sleep(0.5)
        arrivals.clear()
        commits: dict[int, float] = {}
        tenant = f"feed{round_}"
        feed_runs.append(changes(url, tenant, args.changes, commits=commits))
        deadline = time.perf_counter() + 60
        while sum(k.startswith(tenant) for k in list(arrivals)) < ENDPOINTS * (len(commits) + 3):
            if time.perf_counter() > deadline:
                break
            time.sleep(0.1)
        worker.stopped.set()
        thread.join()
        for seq, committed in commits.items():
            keys = [f"{tenant}/{h}:{seq}" for h in range(ENDPOINTS)]
            first = min((arrivals[k] for k in keys if k in arrivals), default=None)
            if first is not None:
                latencies.append(first - committed)
    base = statistics.median(base_runs)
    event = statistics.median(event_runs)
    feed = statistics.median(feed_runs)
    ratio = event / base
    p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) >= 20 else float("nan")
    result = {
        "database": url.split(":")[0],
        "assignment_ms_without_feed": round(base * 1000, 3),
        "assignment_ms_with_3_endpoints": round(event * 1000, 3),
        "ratio": round(ratio, 3),
        "assignment_ms_while_a_worker_delivers_in_process": round(feed * 1000, 3),
        "ratio_while_delivering": round(feed / base, 3),
        "ratio_target": 1.15,
        "delivered": len(latencies),
        "commit_to_first_attempt_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "commit_to_first_attempt_p95_s": round(p95, 3),
        "p95_target_s": 2.0,
    }
    server.shutdown()
    engine.dispose()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:48} {value}")
    print(f"ratio ≤ 1.15: {'met' if ratio <= 1.15 else 'NOT met'}; p95 < 2 s: {'met' if p95 < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
