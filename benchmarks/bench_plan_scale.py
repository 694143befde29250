"""Benchmark of a cohort move plan at scale: 10,000 generation 11 tenants of 100 users (1,000,000 users).

Run: .venv/bin/python benchmarks/bench_plan_scale.py [--tenants 10000] [--users 100] [--baseline 1000] [--no-cli]
     [--profile] [--json]
Target: planning the whole cohort to suite takes under 60 s on PostgreSQL, with progress shown, in
bounded memory (tenants streamed, not all held at once).

Seeding is not measured: tenants, seats, users and their plans are inserted by set-based SQL
(`INSERT ... SELECT generate_series`) into a new PostgreSQL schema, dropped at the end. Each plan runs
in a child process of its own so that its peak RSS (VmHWM) is its own: the baseline over `--baseline`
tenants, then the whole cohort by `move_plans.plan`, then `lisens move plan --to suite --generation 11
--json --db URL`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_db import database  # same folder: a new SQLite file or PostgreSQL schema per run
from sqlalchemy import text

from lisens.db.engine import make_engine, make_session_factory
from lisens.service import move_plans
from lisens.service.context import Context

PLANS = [
    "sales-essential", "sales-premium", "service-essential", "service-premium", "marketing-essential",
    "marketing-premium", "sales-premium+service-essential", "sales-premium+service-premium+marketing-premium",
]  # fmt: skip
NOW = "2026-11-22 00:00:00+00"


def seed(engine, tenants: int, users: int) -> dict[str, float]:
    """`tenants` generation 11 tenants `t00000`, ... each with `users` users spread over PLANS (set-based)."""
    times: dict[str, float] = {}
    plans = ", ".join(f"('{plan}', {n})" for n, plan in enumerate(PLANS))
    statements = {
        "tenants": f"""
            INSERT INTO tenant (name, generation, company, serial, created_at, version, log_seq, log_hash,
                                package_issued, package_active)
            SELECT 't' || lpad(n::text, 5, '0'), '11', '', '', '{NOW}', 0, 0, '', 0, 0
            FROM generate_series(0, {tenants - 1}) AS n""",
        "seats": f"""
            INSERT INTO seat (tenant_id, kind, item, number)
            SELECT t.id, 'plan', p.key, {users} FROM tenant t CROSS JOIN (VALUES {plans}) AS p(key, n)""",
        "users": f"""
            INSERT INTO tenant_user (tenant_id, name, type, can_log_in, retired, created_at)
            SELECT t.id, 'u' || lpad(n::text, 3, '0'), 'internal', true, false, '{NOW}'
            FROM tenant t CROSS JOIN generate_series(0, {users - 1}) AS n""",
        "plans": f"""
            INSERT INTO user_plan (tenant_id, user_id, plan_key)
            SELECT u.tenant_id, u.id, p.key FROM tenant_user u
            JOIN (VALUES {plans}) AS p(key, n) ON p.n = (u.id + u.tenant_id) % {len(PLANS)}""",
        "analyze": "ANALYZE",
    }
    with engine.connect() as connection:
        for name, sql in statements.items():
            start = time.perf_counter()
            connection.execute(text(sql))
            connection.commit()
            times[f"seed_{name}_s"] = time.perf_counter() - start
    return times


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(url: str, tenants: int, profile: bool) -> None:
    """In a process of its own: plan the first `tenants` tenants (all of them with 0) and print the figures."""
    engine = make_engine(url)
    session = make_session_factory(engine)()
    ctx = Context(session=session, actor="bench")
    if tenants:
        selection = move_plans.Selection(tenants=tuple(f"t{n:05d}" for n in range(tenants)))
    else:
        selection = move_plans.Selection(generation="11")
    calls: list[tuple[int, int]] = []
    rss_before = peak_rss_mb()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    view = move_plans.plan(ctx, to="suite", selection=selection, progress=lambda d, t: calls.append((d, t)))
    elapsed = time.perf_counter() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    session.close()
    engine.dispose()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "tenants": view.summary.tenants,
                "users": view.summary.users,
                "skipped": len(view.skipped),
                "blocked": view.summary.blocked,
                "progress_calls": len(calls),
                "progress_last": list(calls[-1]) if calls else None,
                "rss_before_mb": rss_before,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


CLI = """
import sys, pathlib, atexit
def report():
    for line in pathlib.Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            print('PEAK', int(line.split()[1]) / 1024, file=sys.stderr)
atexit.register(report)
sys.argv = ['lisens', *sys.argv[1:]]
from lisens.cli.main import main
main()
"""


def run_child(url: str, tenants: int, profile: bool) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", url, "--tenants", str(tenants)]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    if profile:
        print(done.stderr, file=sys.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def run_cli(url: str) -> dict[str, object]:
    args = ["--db", url, "move", "plan", "--to", "suite", "--generation", "11", "--json"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    result: dict[str, object] = {"seconds": elapsed, "exit": done.returncode, "json_mb": len(done.stdout) / 2**20}
    for line in done.stderr.splitlines():
        if line.startswith("PEAK "):
            result["peak_rss_mb"] = float(line.split()[1])
    if done.returncode == 0:
        view = json.loads(done.stdout)
        result["tenants"] = view["summary"]["tenants"]
        result["users"] = view["summary"]["users"]
    else:
        result["stderr"] = done.stderr[-2000:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the whole cohort's plan (to stderr)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tenants, args.profile)
        return
    report: dict[str, object] = {}
    with database("postgresql") as engine:
        url = engine.url.render_as_string(hide_password=False)
        report.update(seed(engine, args.tenants, args.users))
        # What the service sees: three tenants planned, their user counts checked.
        session = make_session_factory(engine)()
        names = ("t00000", "t00001", f"t{args.tenants - 1:05d}")
        view = move_plans.plan(
            Context(session=session, actor="bench"), to="suite", selection=move_plans.Selection(tenants=names)
        )
        assert [row.users for row in view.tenants] == [args.users] * 3, view.tenants
        session.close()
        report["baseline"] = run_child(url, args.baseline, False)
        report["cohort"] = run_child(url, 0, args.profile)
        if not args.no_cli:
            report["cli"] = run_cli(url)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        print(f"{key:18} {value:8.2f}" if isinstance(value, float) else f"{key:18} {value}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
