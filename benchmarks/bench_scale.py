"""Scale figures: a tenant of 100,000 users, a server holding them all in memory, and 1,000 tenants.

Run: .venv/bin/python benchmarks/bench_scale.py [--database sqlite|postgresql|both] [--json]
PostgreSQL comes from LISENS_BENCH_DATABASE_URL (default: the local server's `test` database); each
run makes a new database `lisens_scale_<random>` on that server and drops it afterwards. SQLite uses a
file in a temporary directory.

1. Seeding: tenant `big` (generation 11) with 100,000 users created and given plans by the bulk use
   case (`service.bulk.prepare` in a read-only unit of work, then `service.bulk.commit`, with
   `create_users`), as `POST /v1/tenants/{t}/bulk-assignments` and `lisens bulk-assign` do.
2. Memory: `lisens serve` (one worker) on that database; its VmRSS after start-up and one warm-up
   check, then after every user was checked (10 batch checks of 10,000 users x 3 licenses), twice:
   the second pass is answered from memory, so it must be much faster than the first.
3. 1,000 tenants of 10 users (each tenant one unit of work: create, seats, a bulk creating its users
   with plans; one app token each). Then a fresh `lisens serve`: one warm-up pass (one batch check
   per tenant), then single checks (1 user x 1 license) one after another from one client, round-robin
   over all tenants, each with its tenant's token: throughput, p50, p99, and the server's VmRSS.
4. Batch throughput on `big` (cached): 100,000 users x 10 licenses, as 10 checks of 10,000 x 10.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the HTTP client the development extras install
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import bulk, tenants, tokens
from lisens.service.uow import unit_of_work

POSTGRES = os.environ.get("LISENS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIG_USERS = 100_000
BATCH_USERS = 10_000  # the most users one check may name
PLANS = ["sales-essential", "sales-premium", "service-premium", "sales-premium+service-premium+marketing-premium"]
LICENSES_3 = ["superoffice.quote-cal", "sale-cal", "ej-client"]
LICENSES_10 = [*LICENSES_3, "superoffice.t2", "superoffice.module1", "marketing-cal", "service-cal", "x", "y", "z"]
TENANTS = 1000
TENANT_USERS = 10
SINGLE_ROUNDS = 5  # single checks per tenant in the measured phase (after one warm-up pass)
SEED_TARGET_S = 10.0
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def big_user(n: int) -> str:
    return f"u{n:06d}"


@contextmanager
def database(backend: str) -> Iterator[str]:
    """The URL of an empty, migrated database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'scale.db'}"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            yield url
        return
    name = f"lisens_scale_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_big(url: str) -> dict[str, float]:
    """Tenant `big` and its 100,000 users through the bulk use case; seconds for each half."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    readers = make_session_factory(engine, read_only=True)
    with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
        tenants.create_tenant(ctx, name="big", generation="11")
        for plan in PLANS:
            tenants.set_seats(ctx, "big", plan, BIG_USERS)
    rows = [
        bulk.BulkRow(
            line=n + 2,
            user=big_user(n),
            plans=tuple(PLANS[n % len(PLANS)].split("+")),
            licenses=(),
            user_type="internal",
        )
        for n in range(BIG_USERS)
    ]
    began = time.perf_counter()
    with unit_of_work(readers, actor="bench", catalog_dir=None) as ctx:
        prepared = bulk.prepare(ctx, "big", rows, create_users=True)
    checked = time.perf_counter()
    with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
        report = bulk.commit(ctx, prepared)
    done = time.perf_counter()
    assert report.applied == BIG_USERS, report
    assert not report.failed, report
    with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
        token, _ = tokens.create_token(ctx, role="app", tenant="big")
    engine.dispose()
    return {
        "seed_100k_s": done - began,
        "seed_prepare_s": checked - began,
        "seed_commit_s": done - checked,
        "token": token,
    }  # type: ignore[dict-item]


def seed_tenants(url: str) -> tuple[float, dict[str, str]]:
    """1,000 tenants of 10 users with plans, each tenant one unit of work; seconds, and a token per tenant."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    began = time.perf_counter()
    for t in range(TENANTS):
        name = f"t{t:04d}"
        with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
            tenants.create_tenant(ctx, name=name, generation="11")
            tenants.set_seats(ctx, name, "sales-premium", TENANT_USERS)
            rows = [
                bulk.BulkRow(line=n + 2, user=f"p{n}", plans=("sales-premium",), licenses=(), user_type="internal")
                for n in range(TENANT_USERS)
            ]
            bulk.bulk_assign(ctx, name, rows, create_users=True)
    elapsed = time.perf_counter() - began
    found: dict[str, str] = {}
    with unit_of_work(factory, actor="bench", catalog_dir=None) as ctx:
        for t in range(TENANTS):
            found[f"t{t:04d}"], _ = tokens.create_token(ctx, role="app", tenant=f"t{t:04d}")
    engine.dispose()
    return elapsed, found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(process: subprocess.Popen[bytes]) -> float:
    """The serving process's resident memory now (VmRSS; with one worker uvicorn serves in process)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def serve(url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "LISENS_DATABASE_URL": url}
    args = [sys.executable, "-m", "lisens.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise SystemExit("lisens serve did not start")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def check(client: httpx.Client, url: str, names: list[str], licenses: list[str], token: str) -> float:
    """One batch check; the seconds until its whole answer was read (checked afterwards, off the clock)."""
    began = time.perf_counter()
    response = client.post(
        url, json={"users": names, "licenses": licenses}, headers={"Authorization": f"Bearer {token}"}
    )
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.text[:300]
    results = response.json()["results"]
    assert len(results) == len(names) * len(licenses), len(results)
    assert all(r["reason"] != "UNKNOWN_USER" for r in results[:: len(licenses)]), results[:3]
    return elapsed


def full_pass(client: httpx.Client, base: str, token: str, licenses: list[str]) -> float:
    """Every user of `big` checked for `licenses`, 10,000 users a request; seconds of the requests
    (from sending each until its answer was read; the client's parse of the answers not counted)."""
    url = f"{base}/v1/tenants/big/check"
    return sum(
        check(client, url, [big_user(n) for n in range(start, start + BATCH_USERS)], licenses, token)
        for start in range(0, BIG_USERS, BATCH_USERS)
    )


def memory_and_batch(url: str, token: str) -> dict[str, float]:
    """Parts 2 and 4: RSS with every user of `big` cached, the two passes, then batch throughput."""
    found: dict[str, float] = {}
    with serve(url) as (base, process), httpx.Client(timeout=120) as client:
        found["rss_started_mb"] = rss_mb(process)
        check(client, f"{base}/v1/tenants/big/check", [big_user(0)], LICENSES_3[:1], token)
        found["rss_warm_mb"] = rss_mb(process)
        found["first_pass_s"] = full_pass(client, base, token, LICENSES_3)
        found["rss_after_first_pass_mb"] = rss_mb(process)
        found["second_pass_s"] = full_pass(client, base, token, LICENSES_3)
        found["rss_cached_mb"] = rss_mb(process)
        found["kb_per_cached_user"] = (found["rss_cached_mb"] - found["rss_warm_mb"]) * 1024 / BIG_USERS
        found["pass_ratio"] = found["first_pass_s"] / found["second_pass_s"]
        rounds = [full_pass(client, base, token, LICENSES_10) for _ in range(3)]
        found["batch_100k_x_10_s"] = statistics.median(rounds)
        found["batch_pairs_per_s"] = BIG_USERS * len(LICENSES_10) / found["batch_100k_x_10_s"]
        found["rss_after_batch_mb"] = rss_mb(process)
    return found


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def many_tenants(url: str, tokens_by_tenant: dict[str, str]) -> dict[str, float]:
    """Part 3: single checks round-robin over every tenant, one client, one request at a time."""
    found: dict[str, float] = {}
    names = list(tokens_by_tenant)
    people = [f"p{n}" for n in range(TENANT_USERS)]
    with serve(url) as (base, process), httpx.Client(timeout=60) as client:
        found["rss_started_mb"] = rss_mb(process)
        began = time.perf_counter()
        for name in names:  # warm-up: each tenant, its users and its token in the server's memory
            check(client, f"{base}/v1/tenants/{name}/check", people, LICENSES_3[:1], tokens_by_tenant[name])
        found["warm_up_s"] = time.perf_counter() - began
        found["rss_warm_mb"] = rss_mb(process)
        bodies = [
            (
                f"{base}/v1/tenants/{name}/check",
                {"users": [people[(r + i) % TENANT_USERS]], "licenses": [LICENSES_3[r % 3]]},
                {"Authorization": f"Bearer {tokens_by_tenant[name]}"},
            )
            for r in range(SINGLE_ROUNDS)
            for i, name in enumerate(names)
        ]
        latencies: list[float] = []
        began = time.perf_counter()
        for target, body, headers in bodies:
            start = time.perf_counter()
            response = client.post(target, json=body, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text[:300]
        elapsed = time.perf_counter() - began
        found["single_checks"] = len(bodies)
        found["single_per_s"] = len(bodies) / elapsed
        found["single_p50_ms"] = percentile(latencies, 0.50)
        found["single_p99_ms"] = percentile(latencies, 0.99)
        found["rss_after_mb"] = rss_mb(process)
    return found


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def bench(backend: str) -> dict[str, Any]:
    results: dict[str, Any] = {"database": backend, "load_before": load_average()}
    with database(backend) as url:
        say(f"{backend}: seeding {BIG_USERS:,} users through the bulk path")
        seeded = seed_big(url)
        token = seeded.pop("token")
        results.update(seeded)
        results["seed_target_met"] = (
            backend != "postgresql" or BIG_USERS != 100_000 or seeded["seed_100k_s"] < SEED_TARGET_S
        )
        results["load_after_seed"] = load_average()
        say(f"{backend}: checking every user of `big` through `lisens serve`")
        results.update({f"big_{k}": v for k, v in memory_and_batch(url, str(token)).items()})
        results["load_after_big"] = load_average()
        say(f"{backend}: creating {TENANTS:,} tenants of {TENANT_USERS} users")
        results["tenants_1000_s"], tokens_by_tenant = seed_tenants(url)
        say(f"{backend}: single checks round-robin over {TENANTS:,} tenants")
        results.update({f"tenants_{k}": v for k, v in many_tenants(url, tokens_by_tenant).items()})
        results["load_after"] = load_average()
    return results


LINES = [
    ("seed_100k_s", "seed 100,000 users, bulk use case (prepare + commit), s"),
    ("seed_prepare_s", "  of which checked (read-only), s"),
    ("seed_commit_s", "  of which written under the lock, s"),
    ("big_rss_started_mb", "server RSS after start-up, MB"),
    ("big_rss_warm_mb", "server RSS after one warm-up check, MB"),
    ("big_first_pass_s", "first pass, 100,000 users x 3 (10 x 10,000 users), s"),
    ("big_second_pass_s", "second pass (from memory), s"),
    ("big_pass_ratio", "first / second pass"),
    ("big_rss_cached_mb", "server RSS with 100,000 users cached, MB"),
    ("big_kb_per_cached_user", "RSS per cached user, kB"),
    ("big_batch_100k_x_10_s", "100,000 users x 10 licenses, s (median of 3)"),
    ("big_batch_pairs_per_s", "batch pairs per second"),
    ("big_rss_after_batch_mb", "server RSS after the batch checks, MB"),
    ("tenants_1000_s", "create 1,000 tenants of 10 users, s"),
    ("tenants_warm_up_s", "warm-up pass, one check per tenant, s"),
    ("tenants_rss_started_mb", "server RSS after start-up, MB"),
    ("tenants_rss_warm_mb", "server RSS after the warm-up pass, MB"),
    ("tenants_single_per_s", "single checks per second, round-robin, one client"),
    ("tenants_single_p50_ms", "single check p50, ms"),
    ("tenants_single_p99_ms", "single check p99, ms"),
    ("tenants_rss_after_mb", "server RSS after the single checks, MB"),
]


def main() -> None:
    global BIG_USERS, TENANTS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--users", type=int, default=BIG_USERS, help="users of `big` (a multiple of 10,000)")
    parser.add_argument("--tenants", type=int, default=TENANTS)
    args = parser.parse_args()
    BIG_USERS, TENANTS = args.users, args.tenants
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = [bench(backend) for backend in backends]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(f"{result['database']} (load average before {result['load_before']}, after {result['load_after']})")
        for key, label in LINES:
            label = label.replace("100,000", f"{BIG_USERS:,}").replace("1,000 tenants", f"{TENANTS:,} tenants")
            print(f"  {label:58} {result[key]:14,.2f}")
        met = "met" if result["seed_target_met"] else "MISSED"
        print(f"  {met:6} seed of 100,000 users < {SEED_TARGET_S:.0f} s on PostgreSQL (judged only at 100,000)")


if __name__ == "__main__":
    main()
