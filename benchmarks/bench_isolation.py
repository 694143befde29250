"""Isolation of tenants: another tenant's reads and writes while one tenant runs a 100,000-row bulk.

Run: .venv/bin/python benchmarks/bench_isolation.py [--backend sqlite|postgresql|both] [--rows 100000] [--json]

Seeds a generation 11 tenant `big` with ROWS users (bulk inserts) and a tenant `other` with 100 users.
Then, in the same run, one client measures `other`'s reads (show a user) and writes (assign, then
unassign, a plan), one thread each, paced at 20 per second:
  - quiet: for 5 s with nothing else running (the baseline);
  - bulk: while another process (as `lisens bulk-assign` would) assigns a plan to every user of
    `big` in one bulk of ROWS rows, committed.
Reports p50 / p99 of each and the ratio bulk / quiet, the bulk's own time, and every error code
the client got (a wait that runs out answers TENANT_BUSY or DATABASE_BUSY, never hangs).
Targets: during the bulk, other tenants' reads and writes keep answering: no errors, p99 under 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench_db import database  # same folder: a new SQLite file or PostgreSQL schema per run
from sqlalchemy import Engine, insert, select

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.models import TenantRow, UserRow
from lisens.domain.errors import LisensError
from lisens.service import bulk, tenants, users
from lisens.service.context import Context
from lisens.service.uow import unit_of_work

NOW = datetime(2026, 11, 22, tzinfo=UTC)
PACE = 0.05  # seconds between a client's operations
QUIET_SECONDS = 5.0
P99_TARGET_S = 2.0


def seed(engine: Engine, rows: int) -> None:
    session = make_session_factory(engine)()
    ctx = Context(session=session, actor="bench")
    tenants.create_tenant(ctx, name="big", generation="11")
    tenants.set_seats(ctx, "big", "sales-premium", rows)
    tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.name == "big"))
    session.execute(
        insert(UserRow),
        [
            {"tenant_id": tenant_id, "name": f"u{n:06d}", "type": "internal", "can_log_in": True, "created_at": NOW}
            for n in range(rows)
        ],
    )
    tenants.create_tenant(ctx, name="other", generation="11")
    tenants.set_seats(ctx, "other", "sales-premium", 10)
    for n in range(100):
        users.add_user(ctx, "other", f"o{n:03d}")
    session.commit()
    session.close()


def run_bulk(url: str, rows: int, started: Any, results: Any) -> None:
    """In its own process, as `lisens bulk-assign big FILE.csv` does: the rows checked in a read-only
    unit of work, then written in one transaction under the tenant's lock, committed."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    readers = make_session_factory(engine, read_only=True)
    text = "user,plans\n" + "".join(f"u{n:06d},sales-premium\n" for n in range(rows))
    parsed = bulk.parse_bulk_csv(text)
    started.set()
    begin = time.perf_counter()
    with unit_of_work(readers, actor="bench-bulk", catalog_dir=None) as ctx:
        prepared = bulk.prepare(ctx, "big", parsed)
    checked = time.perf_counter()
    with unit_of_work(factory, actor="bench-bulk", catalog_dir=None) as ctx:
        report = bulk.commit(ctx, prepared)
    elapsed = time.perf_counter() - begin
    engine.dispose()
    assert report.applied == rows, report
    results.put({"bulk_s": elapsed, "bulk_write_s": time.perf_counter() - checked})


class Client:
    """Paced operations on tenant `other`, each its own unit of work; latencies and error codes."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = make_session_factory(engine)
        self.read_sessions = make_session_factory(engine, read_only=True)
        self.latencies: dict[str, list[float]] = {"read": [], "write": []}
        self.errors: Counter[str] = Counter()
        self.turn = 0

    def _timed(self, kind: str, work: Callable[[Context], object], *, read_only: bool) -> None:
        begin = time.perf_counter()
        try:
            factory = self.read_sessions if read_only else self.sessions
            with unit_of_work(factory, actor="bench-client", catalog_dir=None) as ctx:
                work(ctx)
        except LisensError as error:
            self.errors[f"{kind}:{error.code}"] += 1
        self.latencies[kind].append(time.perf_counter() - begin)

    def read(self) -> None:
        self._timed("read", lambda ctx: users.show_user(ctx, "other", "o001"), read_only=True)

    def write(self) -> None:
        self.turn += 1
        if self.turn % 2:
            work: Callable[[Context], object] = lambda ctx: users.assign(  # noqa: E731
                ctx, "other", "o002", plans=["sales-premium"]
            )
        else:
            work = lambda ctx: users.unassign(ctx, "other", "o002", plan=True)  # noqa: E731
        self._timed("write", work, read_only=False)

    def run_until(self, done: Callable[[], bool]) -> None:
        def loop(step: Callable[[], None]) -> None:
            while not done():
                begin = time.perf_counter()
                step()
                time.sleep(max(0.0, PACE - (time.perf_counter() - begin)))

        threads = [threading.Thread(target=loop, args=(step,)) for step in (self.read, self.write)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(client: Client, prefix: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for kind, values in client.latencies.items():
        found[f"{prefix}_{kind}_n"] = len(values)
        found[f"{prefix}_{kind}_p50_ms"] = statistics.median(values) * 1000
        found[f"{prefix}_{kind}_p99_ms"] = percentile(values, 0.99) * 1000
    found[f"{prefix}_errors"] = sum(client.errors.values())
    return found


def bench(backend: str, rows: int) -> dict[str, object]:
    with database(backend) as engine:
        seed(engine, rows)
        quiet = Client(engine)
        deadline = time.perf_counter() + QUIET_SECONDS
        quiet.run_until(lambda: time.perf_counter() > deadline)
        busy = Client(engine)
        context = multiprocessing.get_context("spawn")
        started = context.Event()
        url = engine.url.render_as_string(hide_password=False)
        queue = context.Queue()
        process = context.Process(target=run_bulk, args=(url, rows, started, queue))
        process.start()
        started.wait()
        busy.run_until(lambda: not process.is_alive())
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"the bulk failed (exit code {process.exitcode})")
        bulk_result = queue.get()
    results: dict[str, object] = {"backend": backend, "rows": rows, **bulk_result}
    results.update(summary(quiet, "quiet"))
    results.update(summary(busy, "bulk"))
    for kind in ("read", "write"):
        results[f"{kind}_p99_ratio"] = float(results[f"bulk_{kind}_p99_ms"]) / float(  # type: ignore[arg-type]
            results[f"quiet_{kind}_p99_ms"]  # type: ignore[arg-type]
        )
    results["error_codes"] = dict(busy.errors)
    results["target_met"] = (
        not busy.errors and max(results["bulk_read_p99_ms"], results["bulk_write_p99_ms"]) < P99_TARGET_S * 1000  # type: ignore[type-var]
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [bench(backend, args.rows) for backend in backends]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(
            f"{result['backend']}: bulk of {result['rows']:,} rows in {result['bulk_s']:.1f} s"
            f" (written under the lock: {result['bulk_write_s']:.1f} s)"
        )
        for kind in ("read", "write"):
            quiet = (result[f"quiet_{kind}_p50_ms"], result[f"quiet_{kind}_p99_ms"])
            busy = (result[f"bulk_{kind}_p50_ms"], result[f"bulk_{kind}_p99_ms"])
            print(
                f"  {kind:5}  quiet p50 {quiet[0]:7.1f} ms  p99 {quiet[1]:7.1f} ms"
                f"   during bulk p50 {busy[0]:7.1f} ms  p99 {busy[1]:7.1f} ms"
                f"   (n={result[f'bulk_{kind}_n']}, p99 ratio {result[f'{kind}_p99_ratio']:.1f})"
            )
        print(f"  errors during bulk: {result['error_codes'] or 'none'}; target met: {result['target_met']}")


if __name__ == "__main__":
    main()
