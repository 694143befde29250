"""Benchmarks of generation moves: preview and apply for a tenant of 10,000 users.

Run: .venv/bin/python benchmarks/bench_moves.py [--backend sqlite|postgresql|both] [--users 10000] [--json]
Targets: preview under 2 s; apply on PostgreSQL under 10 s.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime

from bench_db import database  # same folder: a new SQLite file or PostgreSQL schema per run
from sqlalchemy import insert, select

from lisens.db.engine import make_session_factory
from lisens.db.models import TenantRow, UserPlanRow, UserRow
from lisens.service import moves, tenants
from lisens.service.context import Context

NOW = datetime(2026, 11, 22, tzinfo=UTC)
PLANS = [
    "sales-essential", "sales-premium", "service-essential", "service-premium", "marketing-essential",
    "marketing-premium", "sales-premium+service-essential", "sales-premium+service-premium+marketing-premium",
]  # fmt: skip


def seed(ctx: Context, users: int) -> None:
    """One generation 11 tenant with `users` users spread over base plans and combinations (bulk inserts)."""
    tenants.create_tenant(ctx, name="big", generation="11")
    for plan in PLANS:
        tenants.set_seats(ctx, "big", plan, users)
    tenant_id = ctx.session.scalar(select(TenantRow.id).where(TenantRow.name == "big"))
    rows = [
        {
            "tenant_id": tenant_id,
            "name": f"u{n:05d}",
            "type": "internal",
            "can_log_in": True,
            "retired": False,
            "created_at": NOW,
        }
        for n in range(users)
    ]
    ctx.session.execute(insert(UserRow), rows)
    ids = ctx.session.scalars(select(UserRow.id).where(UserRow.tenant_id == tenant_id).order_by(UserRow.id)).all()
    rng = random.Random(12)
    ctx.session.execute(
        insert(UserPlanRow), [{"tenant_id": tenant_id, "user_id": i, "plan_key": rng.choice(PLANS)} for i in ids]
    )
    ctx.session.commit()


def bench(backend: str, users: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with database(backend) as engine:
        session = make_session_factory(engine)()
        ctx = Context(session=session, actor="bench")
        seed(ctx, users)
        start = time.perf_counter()
        view = moves.preview(ctx, "big", to="suite")
        results["preview_s"] = time.perf_counter() - start
        assert view.summary.users == users
        session.rollback()
        start = time.perf_counter()
        moves.apply(ctx, "big", to="suite")
        session.commit()
        results["apply_s"] = time.perf_counter() - start
        start = time.perf_counter()
        moves.rollback(ctx, "big")
        session.commit()
        results["rollback_s"] = time.perf_counter() - start
        session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report = {backend: bench(backend, args.users) for backend in backends}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for backend, results in report.items():
        print(f"{backend} ({args.users} users)")
        for key, value in results.items():
            print(f"  {key:12} {value:8.2f}")


if __name__ == "__main__":
    main()
