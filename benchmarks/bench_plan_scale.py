"""Benchmark of a cohort move plan at scale: 10,000 generation 11 tenants of 100 users (1,000,000 users).

Run: .venv/bin/python benchmarks/bench_plan_scale.py [--tenants 10000] [--users 100] [--baseline 1000] [--no-cli]
     [--profile] [--json]
Target: planning the whole cohort to suite takes under 60 s on PostgreSQL, with progress shown, in
bounded memory (tenants streamed, not all held at once).

Seeding is not measured: tenants, seats, users and their plans are inserted by set-based SQL
(`INSERT ... SELECT generate_series`) into a new PostgreSQL schema, dropped at the end. Each plan runs
in a child process of its own so that its peak RSS (VmHWM) is its own: the stream of `move_plans.stream`
over `--baseline` tenants, then over the whole cohort (each row let go of as it comes, as the command
line and the API do), then `lisens move plan --to suite --generation 11 --db URL` with `--json` and with
`--csv`, their output read as it comes (bytes, lines, time to the first byte).
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
    """In a process of its own: plan the first `tenants` tenants (all of them with 0) as a stream, each row let
    go of as it comes, and print the figures."""
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
    made = move_plans.stream(ctx, to="suite", selection=selection, progress=lambda d, t: calls.append((d, t)))
    rows = named = 0
    for row in made:
        rows += 1
        named += sum(len(users) for users in row.lose.values()) + sum(len(users) for users in row.gain.values())
    summary = made.summary()
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
                "tenants": summary.tenants,
                "rows": rows,
                "users": summary.users,
                "user_names_in_rows": named,
                "skipped": len(made.skipped),
                "blocked": summary.blocked,
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


def run_cli(url: str, output: str) -> dict[str, object]:
    """`lisens move plan --json` or `--csv`, its output read as it comes: bytes, lines, time to the first byte;
    the JSON's first line (everything before the rows, the summary included) and every row line parsed."""
    args = ["--db", url, "move", "plan", "--to", "suite", "--generation", "11", f"--{output}"]
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    assert child.stdout is not None
    assert child.stderr is not None
    first_byte = None
    size = lines = rows = users = 0
    head = b""
    pending = b""
    while chunk := child.stdout.read(1 << 20):
        if first_byte is None:
            first_byte = time.perf_counter() - start
        size += len(chunk)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            lines += 1
            if lines == 1:
                head = line
            elif output == "json" and line.startswith(b"{"):
                rows += 1
                users += json.loads(line.rstrip(b","))["users"]
            elif output == "csv":
                rows += 1
    stderr = child.stderr.read().decode()
    code = child.wait()
    elapsed = time.perf_counter() - start
    result: dict[str, object] = {
        "seconds": elapsed,
        "first_byte_s": first_byte,
        "exit": code,
        "mb": size / 2**20,
        "lines": lines,
        "rows": rows,
        "row_users": users,
    }
    for line in stderr.splitlines():
        if line.startswith("PEAK "):
            result["peak_rss_mb"] = float(line.split()[1])
    if code != 0:
        result["stderr"] = stderr[-2000:]
    elif output == "json":
        summary = json.loads(head.removesuffix(b',"tenants":[') + b"}")["summary"]
        result["tenants"], result["users"] = summary["tenants"], summary["users"]
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
        report["load_before"] = os.getloadavg()
        report["baseline"] = run_child(url, args.baseline, False)
        report["cohort"] = run_child(url, 0, args.profile)
        if not args.no_cli:
            report["cli_json"] = run_cli(url, "json")
            report["cli_csv"] = run_cli(url, "csv")
        report["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        print(f"{key:18} {value:8.2f}" if isinstance(value, float) else f"{key:18} {value}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
