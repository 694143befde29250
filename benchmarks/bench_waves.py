"""Benchmarks of waves: what a wave adds to the moves it makes.

Run: .venv/bin/python benchmarks/bench_waves.py [--backend sqlite|postgresql|both] [--tenants 100] [--users 20]
     [--rounds 3] [--json]
Seeds 2 x N generation 11 tenants of U users each. N are moved by a wave on one date, run by the worker
(`Worker.due_work`: each tenant in its own transaction, with the wave's lock, the blockers checked again,
the wave's row and the vendor's log written); the other N, the baseline in the same run, by `moves.apply`
one tenant per transaction, in alternating order. Medians of the rounds. Target: the wave's worker run takes
at most 1.5 x the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime

from bench_db import database  # same folder: a new SQLite file or PostgreSQL schema per run
from sqlalchemy import insert, select

from lisens.db.engine import make_session_factory
from lisens.db.models import TenantRow, UserPlanRow, UserRow
from lisens.service import moves, tenants, waves
from lisens.service.move_plans import Selection
from lisens.service.uow import unit_of_work
from lisens.service.worker import Worker

NOW = datetime(2026, 11, 22, tzinfo=UTC)
LATER = datetime(2026, 12, 2, tzinfo=UTC)
PLANS = ["sales-essential", "sales-premium", "service-essential", "marketing-premium"]
TARGET = 1.5


def seed(factory: object, names: list[str], users: int) -> None:
    with unit_of_work(factory, actor="bench", catalog_dir=None, clock=lambda: NOW) as ctx:  # type: ignore[arg-type]
        for name in names:
            tenants.create_tenant(ctx, name=name, generation="11")
            for plan in PLANS:
                tenants.set_seats(ctx, name, plan, users)
            tenant_id = ctx.session.scalar(select(TenantRow.id).where(TenantRow.name == name))
            rows = [
                {"tenant_id": tenant_id, "name": f"u{n:04d}", "type": "internal", "can_log_in": True,
                 "retired": False, "created_at": NOW}
                for n in range(users)
            ]  # fmt: skip
            ctx.session.execute(insert(UserRow), rows)
            ids = ctx.session.scalars(select(UserRow.id).where(UserRow.tenant_id == tenant_id)).all()
            plans = [{"tenant_id": tenant_id, "user_id": i, "plan_key": PLANS[i % len(PLANS)]} for i in ids]
            ctx.session.execute(insert(UserPlanRow), plans)


def bench(backend: str, count: int, users: int, rounds: int) -> dict[str, float]:
    """Medians over `rounds` rounds, each with its own tenants; the order of the two runs alternates."""
    found: dict[str, list[float]] = {"create_wave_s": [], "baseline_apply_s": [], "wave_worker_s": [], "ratio": []}
    with database(backend) as engine:
        factory = make_session_factory(engine)
        worker = Worker(unit=lambda: unit_of_work(factory, actor="worker", catalog_dir=None, clock=lambda: LATER))
        for round_ in range(rounds):
            waved = [f"w{round_}-{n:04d}" for n in range(count)]
            direct = [f"d{round_}-{n:04d}" for n in range(count)]
            seed(factory, waved + direct, users)
            with unit_of_work(factory, actor="bench", catalog_dir=None, clock=lambda: NOW) as ctx:
                start = time.perf_counter()
                waves.create_wave(ctx, to="suite", selection=Selection(tenants=tuple(waved)), at="2026-12-01")
                found["create_wave_s"].append(time.perf_counter() - start)

            def baseline(names: list[str] = direct) -> float:
                start = time.perf_counter()
                for name in names:
                    with unit_of_work(factory, actor="bench", catalog_dir=None, clock=lambda: LATER) as ctx:
                        moves.apply(ctx, name, to="suite")
                return time.perf_counter() - start

            def wave() -> float:
                start = time.perf_counter()
                report = worker.due_work()
                elapsed = time.perf_counter() - start
                assert sum(1 for state in report["waves"].values() if state == "moved") == count, report["errors"]
                return elapsed

            if round_ % 2:
                waved_s, direct_s = wave(), baseline()
            else:
                direct_s, waved_s = baseline(), wave()
            found["baseline_apply_s"].append(direct_s)
            found["wave_worker_s"].append(waved_s)
            found["ratio"].append(waved_s / direct_s)
        start = time.perf_counter()
        with unit_of_work(factory, actor="bench", catalog_dir=None, clock=lambda: LATER) as ctx:
            waves.rollback_wave(ctx, 1)
        rollback_s = time.perf_counter() - start
    return {**{key: statistics.median(values) for key, values in found.items()}, "rollback_wave_s": rollback_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report = {backend: bench(backend, args.tenants, args.users, args.rounds) for backend in backends}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for backend, results in report.items():
        print(f"{backend} ({args.tenants} tenants of {args.users} users each way)")
        for key, value in results.items():
            print(f"  {key:18} {value:8.2f}")
        print(f"  target ratio <= {TARGET}: {'met' if results['ratio'] <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
