"""Signed snapshots of a tenant of 100,000 users: issued fresh, and served again from the cache.

Run: .venv/bin/python benchmarks/bench_snapshot.py [--backend sqlite|postgresql|both] [--users 100000] [--json]

The baseline, in the same run: reading the same users with their plans and direct licenses (three
queries, no resolution, no signature) - the floor any snapshot pays. Target: a fresh snapshot under 5 s.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

from bench_db import database  # same folder: a new SQLite file or PostgreSQL schema per run
from bench_moves import seed  # the same tenant `big`: users over base plans and combinations
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lisens.db.engine import make_session_factory
from lisens.db.repositories import UserRepository
from lisens.service import packages
from lisens.service.cache import SnapshotCache
from lisens.service.context import Context
from lisens.service.state import load_state

NOW = datetime(2026, 11, 22, tzinfo=UTC)
TARGET_S = 5.0


def bench(backend: str, users: int) -> dict[str, object]:
    key = Ed25519PrivateKey.generate()
    with database(backend) as engine:
        session = make_session_factory(engine)()
        ctx = Context(session=session, actor="bench")
        seed(ctx, users)
        start = time.perf_counter()
        state = load_state(ctx, "big")
        repo = UserRepository(ctx.session)
        repo.names(state.id), repo.all_plans(state.id), repo.all_licenses(state.id)
        baseline = time.perf_counter() - start
        cache = SnapshotCache()
        start = time.perf_counter()
        document = packages.issue_snapshot(ctx, "big", key, at=NOW, ttl=timedelta(hours=1), cache=cache)
        fresh = time.perf_counter() - start
        start = time.perf_counter()
        again = packages.issue_snapshot(
            ctx, "big", key, at=NOW + timedelta(minutes=1), ttl=timedelta(hours=1), cache=cache
        )
        cached = time.perf_counter() - start
        assert again is document
        assert len(document["users"]) == users
        start = time.perf_counter()
        json.dumps(document, separators=(",", ":"))
        serialise = time.perf_counter() - start
        session.close()
    return {
        "backend": backend,
        "users": users,
        "baseline_read_s": baseline,
        "fresh_s": fresh,
        "cached_s": cached,
        "serialise_s": serialise,
        "fresh_over_baseline": fresh / baseline,
        "target_met": fresh < TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [bench(b, args.users) for b in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend])]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['backend']}: {r['users']:,} users: read {r['baseline_read_s']:.2f} s (baseline), "
            f"fresh snapshot {r['fresh_s']:.2f} s ({r['fresh_over_baseline']:.1f}x), "
            f"cached {r['cached_s'] * 1000:.2f} ms, "
            f"JSON {r['serialise_s']:.2f} s; target < {TARGET_S:.0f} s met: {r['target_met']}"
        )


if __name__ == "__main__":
    main()
