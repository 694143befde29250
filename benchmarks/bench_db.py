"""Benchmarks of assignment and lookup on a real database (SQLite file and PostgreSQL).

Run: .venv/bin/python benchmarks/bench_db.py [--backend sqlite|postgresql|both] [--json]
PostgreSQL comes from LISENS_BENCH_DATABASE_URL (default: the local server's `test` database);
each run works in a new schema (or a new SQLite file) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import tenants, users
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.context import Context
from lisens.service.decisions import holder_of
from lisens.service.state import load_state, require_user

POSTGRES = os.environ.get("LISENS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SINGLE = 300  # assignments, one client
CLIENTS = 16
PER_CLIENT = 25  # assignments per concurrent client
LOOKUPS = 2000
NOW = datetime(2026, 11, 22, tzinfo=UTC)


@contextmanager
def database(backend: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
            upgrade(engine)
            yield engine
            engine.dispose()
        return
    schema = f"lisens_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=CLIENTS + 2)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def in_transaction(engine: Engine, work: Callable[[Context], object]) -> None:
    session = make_session_factory(engine)()
    try:
        work(Context(session=session, actor="bench"))
        session.commit()
    finally:
        session.close()


def setup_tenant(engine: Engine, name: str, people: list[str]) -> None:
    def work(ctx: Context) -> None:
        tenants.create_tenant(ctx, name=name, generation="11")
        tenants.set_seats(ctx, name, "sales-premium", len(people))
        for person in people:
            users.add_user(ctx, name, person)

    in_transaction(engine, work)


def assign_one(engine: Engine, tenant: str, person: str) -> None:
    in_transaction(engine, lambda ctx: users.assign(ctx, tenant, person, plans=["sales-premium"]))


def bench_backend(backend: str) -> dict[str, float]:
    results: dict[str, float] = {}
    with database(backend) as engine:
        people = [f"u{n:04d}" for n in range(SINGLE)]
        setup_tenant(engine, "single", people)
        start = time.perf_counter()
        for person in people:
            assign_one(engine, "single", person)
        results["assign_per_s_1_client"] = SINGLE / (time.perf_counter() - start)

        # 16 clients, each its own tenant's users, all racing through one database.
        crowd = [[f"c{c:02d}u{n:03d}" for n in range(PER_CLIENT)] for c in range(CLIENTS)]
        setup_tenant(engine, "crowd", [p for group in crowd for p in group])
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(lambda group: [assign_one(engine, "crowd", p) for p in group], crowd))
        results["assign_per_s_16_clients"] = CLIENTS * PER_CLIENT / (time.perf_counter() - start)

        # 16 clients on 16 tenants: writes to different tenants do not wait for each other's lock.
        for c, group in enumerate(crowd):
            setup_tenant(engine, f"t{c:02d}", group)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(lambda c: [assign_one(engine, f"t{c:02d}", p) for p in crowd[c]], range(CLIENTS)))
        results["assign_per_s_16_clients_16_tenants"] = CLIENTS * PER_CLIENT / (time.perf_counter() - start)

        session = make_session_factory(engine)()
        ctx = Context(session=session, actor="bench")
        targets = people[:50]
        start = time.perf_counter()
        for n in range(LOOKUPS):
            state = load_state(ctx, "single")
            holder_of(ctx, state, require_user(ctx, state, targets[n % len(targets)])).resolution.has_license(
                "quote-cal"
            )
        results["lookup_uncached_per_s"] = LOOKUPS / (time.perf_counter() - start)
        cache = EffectiveLicenseCache()
        samples = []
        for n in range(LOOKUPS + len(targets)):
            began = time.perf_counter()
            cache.holder(ctx, "single", targets[n % len(targets)]).resolution.has_license("quote-cal")
            if n >= len(targets):  # after every user's first (missing) lookup
                samples.append(time.perf_counter() - began)
        results["lookup_cached_per_s"] = len(samples) / sum(samples)
        results["lookup_cached_p50_us"] = statistics.median(samples) * 1e6
        session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report = {backend: bench_backend(backend) for backend in backends}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for backend, results in report.items():
        print(backend)
        for key, value in results.items():
            print(f"  {key:36} {value:12.1f}")


if __name__ == "__main__":
    main()
