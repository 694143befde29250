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

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.db.models import TenantRow, UserPlanRow, UserRow
from lisens.domain.errors import SeatLimitReached
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
ROUNDS = 3  # the service and the bare baseline, alternating
RACE_SEATS = 100  # 16 clients race for these with 10 users each
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


FACTORIES: dict[Engine, sessionmaker[Session]] = {}


def sessions_of(engine: Engine) -> sessionmaker[Session]:
    """The engine's session factory, made once as a server makes it (a factory per call would add its
    construction, event listeners and all, to every assignment)."""
    found = FACTORIES.get(engine)
    if found is None:
        found = FACTORIES[engine] = make_session_factory(engine)
    return found


def in_transaction(engine: Engine, work: Callable[[Context], object]) -> None:
    session = sessions_of(engine)()
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


def user_ids(engine: Engine, tenant: str) -> list[int]:
    with engine.connect() as connection:
        query = (
            select(UserRow.id)
            .join(TenantRow, TenantRow.id == UserRow.tenant_id)
            .where(TenantRow.name == tenant)
            .order_by(UserRow.name)
        )
        return list(connection.scalars(query))


COUNTER = Table(
    "bench_seat_counter",
    MetaData(),
    Column("tenant_id", Integer, primary_key=True),
    Column("item", String(350), primary_key=True),
    Column("total", Integer),
    Column("used", Integer),
)
TAKE = (
    update(COUNTER)
    .where(COUNTER.c.tenant_id == 0, COUNTER.c.item == "sales-premium", COUNTER.c.used < COUNTER.c.total)
    .values(used=COUNTER.c.used + 1)
)


def bare_assign(engine: Engine, tenant_id: int, user_id: int) -> bool:
    """The baseline: a conditional update of a seat counter and the insert of the assignment row."""
    with engine.begin() as connection:
        if connection.execute(TAKE).rowcount != 1:
            return False
        connection.execute(
            UserPlanRow.__table__.insert(), {"tenant_id": tenant_id, "user_id": user_id, "plan_key": "sales-premium"}
        )
        return True


def crowd_of(prefix: str) -> list[list[str]]:
    return [[f"{prefix}{c:02d}u{n:03d}" for n in range(PER_CLIENT)] for c in range(CLIENTS)]


def run_service(engine: Engine, tenant: str, crowd: list[list[str]]) -> float:
    """16 clients assigning plans through `users.assign`; assignments per second."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(lambda group: [assign_one(engine, tenant, p) for p in group], crowd))
    return CLIENTS * PER_CLIENT / (time.perf_counter() - start)


def run_bare(engine: Engine, tenant: str) -> float:
    """The baseline on the users of another tenant of the same shape: the same rows written."""
    ids = user_ids(engine, tenant)
    with engine.begin() as connection:
        connection.execute(COUNTER.delete())
        connection.execute(COUNTER.insert(), {"tenant_id": 0, "item": "sales-premium", "total": len(ids), "used": 0})
    with engine.connect() as connection:
        tenant_id = connection.scalar(select(TenantRow.id).where(TenantRow.name == tenant))
    assert tenant_id is not None
    groups = [ids[c * PER_CLIENT : (c + 1) * PER_CLIENT] for c in range(CLIENTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        done = list(pool.map(lambda group: [bare_assign(engine, tenant_id, u) for u in group], groups))
    elapsed = time.perf_counter() - start
    assert all(all(group) for group in done)
    return CLIENTS * PER_CLIENT / elapsed


def race(engine: Engine) -> int:
    """16 clients race for RACE_SEATS seats with 10 users each; the seats sold beyond those bought."""
    crowd = [[f"r{c:02d}u{n:03d}" for n in range(10)] for c in range(CLIENTS)]

    def work(ctx: Context) -> None:
        tenants.create_tenant(ctx, name="race", generation="11")
        tenants.set_seats(ctx, "race", "sales-premium", RACE_SEATS)
        for person in [p for group in crowd for p in group]:
            users.add_user(ctx, "race", person)

    in_transaction(engine, work)

    def attempt(person: str) -> bool:
        try:
            assign_one(engine, "race", person)
        except SeatLimitReached:
            return False
        return True

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        taken = sum(sum(results) for results in pool.map(lambda group: [attempt(p) for p in group], crowd))
    with engine.connect() as connection:
        tenant_id = connection.scalar(select(TenantRow.id).where(TenantRow.name == "race"))
        holders = len(list(connection.scalars(select(UserPlanRow.id).where(UserPlanRow.tenant_id == tenant_id))))
    assert taken == holders, (taken, holders)
    return max(0, holders - RACE_SEATS)


def bench_assignment_path(engine: Engine) -> dict[str, float]:
    """The service's 16 clients against the bare baseline, alternating, ROUNDS times each; medians."""
    COUNTER.create(engine)
    service: list[float] = []
    bare: list[float] = []
    for n in range(ROUNDS):
        setup_tenant(engine, f"bare{n}", [p for group in crowd_of(f"b{n}") for p in group])
        bare.append(run_bare(engine, f"bare{n}"))
        crowd = crowd_of(f"s{n}")
        setup_tenant(engine, f"service{n}", [p for group in crowd for p in group])
        service.append(run_service(engine, f"service{n}", crowd))
    return {
        "bare_conditional_update_per_s_16_clients": statistics.median(bare),
        "service_assign_per_s_16_clients": statistics.median(service),
        "service_to_bare_ratio": statistics.median(service) / statistics.median(bare),
        "oversold_seats": race(engine),
    }


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

        results.update(bench_assignment_path(engine))

        session = sessions_of(engine)()
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
            print(f"  {key:42} {value:12.2f}")
        print(f"  {'target':42} {TARGETS[backend]}: {'met' if met(backend, results) else 'NOT met'}")


TARGETS = {
    "sqlite": "1 client >= 1,000 assignments/s, no oversold seat",
    "postgresql": "16 clients >= 0.5 x the bare conditional update, no oversold seat",
}


def met(backend: str, results: dict[str, float]) -> bool:
    if results["oversold_seats"]:
        return False
    if backend == "sqlite":
        return results["assign_per_s_1_client"] >= 1000
    return results["service_to_bare_ratio"] >= 0.5


if __name__ == "__main__":
    main()
