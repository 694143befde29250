"""Server-Sent Events to many followers: one `lisens serve` streams a tenant's events to N clients at once.

A real server process (`lisens serve`, one process, SQLite unless `--database`) and N asyncio
followers (httpx2) on `GET /v1/tenants/acme/events` with `Accept: text/event-stream`. A change (one
user's plan taken away or given back, over HTTP) is made every `--pause` seconds; for each change and
follower the clock runs from the change's answer until that follower has read the event. The same is
measured with one follower first (the baseline, same run), then with N. Recorded: the delay's p50,
p95, p99 and max; the server's peak RSS and its CPU (seconds of CPU per second of wall time, the
whole run of each phase); on PostgreSQL the server's database connections at the peak.

Run: .venv/bin/python benchmarks/bench_stream.py [--followers 100] [--changes 40] [--json]
     [--database postgresql+psycopg://postgres@127.0.0.1:5432/NAME]   (a fresh NAME_<random>, dropped after)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from sqlalchemy.engine import make_url

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.signing import generate_keys

sys.path.insert(0, str(Path(__file__).parent))
from bench_events import fresh_database

AT = datetime(2026, 1, 5, tzinfo=UTC)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    followers: int
    arrivals: list[dict[int, float]] = field(default_factory=list)
    answers: dict[int, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_connections: int | None = None
    errors: list[str] = field(default_factory=list)


def _seed(url: str, directory: Path) -> tuple[str, str, Path]:
    engine = make_engine(url)
    upgrade(engine)
    signing_key, _ = generate_keys(directory / "keys")
    with make_session_factory(engine)() as session:
        ctx = Context(session, "bench", may_correct=True)
        tenants.create_tenant(ctx, name="acme", generation="11", at=AT)
        tenants.set_seats(ctx, "acme", "sales-premium", 2, at=AT)
        users.add_user(ctx, "acme", "alice", at=AT)
        app_token = tokens.create_token(ctx, role="app", tenant="acme", at=AT)[0]
        admin_token = tokens.create_token(ctx, role="admin", tenant="acme", at=AT)[0]
        session.commit()
    engine.dispose()
    return app_token, admin_token, signing_key


def _proc(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process and its children (the server is `lisens serve`'s process)."""
    rss = cpu = 0.0
    for p in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
        cpu += (int(stat[11]) + int(stat[12])) / TICKS
    return rss, cpu


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def _connections(url: str, database: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    server = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchone()
    return int(row[0]) if row else None


async def _follow(
    client: httpx.AsyncClient, base: str, token: str, after: int, seen: dict[int, float], ready: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    url = f"{base}/v1/tenants/acme/events?after={after}&wait=3600"
    async with client.stream("GET", url, headers=headers) as answer:
        answer.raise_for_status()
        ready.set()
        async for line in answer.aiter_lines():
            if line.startswith("id:"):
                seen.setdefault(int(line[3:].strip()), time.monotonic())


async def _phase(
    base: str, url: str, database: str, pid: int, app: str, admin: str, n: int, changes: int, pause: float
) -> Phase:
    phase = Phase(followers=n)
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    timeout = httpx.Timeout(60.0, read=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        page = await client.get(
            f"{base}/v1/tenants/acme/events?after=0&limit=1000", headers={"Authorization": f"Bearer {admin}"}
        )
        head = max([e["seq"] for e in page.json()], default=0)
        readies = [asyncio.Event() for _ in range(n)]
        phase.arrivals = [{} for _ in range(n)]
        tasks = [asyncio.create_task(_follow(client, base, app, head, phase.arrivals[i], readies[i])) for i in range(n)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
        await asyncio.sleep(1.0)  # every stream is open and idle
        rss0, cpu0 = _proc(pid)
        start = time.monotonic()
        phase.peak_rss_mb = rss0
        held = False
        for i in range(changes):
            held = not held
            method = "POST" if held else "DELETE"
            body = {"plans": ["sales-premium"]} if held else {"plan": True}
            answer = await client.request(
                method,
                f"{base}/v1/tenants/acme/users/alice/assignments",
                json=body,
                headers={"Authorization": f"Bearer {admin}"},
            )
            phase.answers[head + i + 1] = time.monotonic()
            if answer.status_code >= 300:
                phase.errors.append(f"change {i}: {answer.status_code} {answer.text[:200]}")
            await asyncio.sleep(pause)
            rss, _ = _proc(pid)
            phase.peak_rss_mb = max(phase.peak_rss_mb, rss)
            if i == changes // 2:
                phase.peak_connections = await asyncio.to_thread(_connections, url, database)
        last = head + changes
        deadline = time.monotonic() + 30
        while any(last not in seen for seen in phase.arrivals) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        phase.wall_s = time.monotonic() - start
        _, cpu1 = _proc(pid)
        phase.cpu_s = cpu1 - cpu0
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        phase.errors += [
            repr(r) for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
        ]
    return phase


def _summary(phase: Phase) -> dict[str, Any]:
    delays = sorted(
        seen[seq] - answered for seen in phase.arrivals for seq, answered in phase.answers.items() if seq in seen
    )
    missing = len(phase.arrivals) * len(phase.answers) - len(delays)

    def q(p: float) -> float:
        return round(delays[min(len(delays) - 1, int(len(delays) * p))], 4) if delays else float("nan")

    return {
        "followers": phase.followers,
        "deliveries": len(delays),
        "missing": missing,
        "p50_s": round(statistics.median(delays), 4) if delays else None,
        "p95_s": q(0.95),
        "p99_s": q(0.99),
        "max_s": round(delays[-1], 4) if delays else None,
        "server_peak_rss_mb": round(phase.peak_rss_mb, 1),
        "server_cpu_per_wall_s": round(phase.cpu_s / phase.wall_s, 3) if phase.wall_s else None,
        "server_db_connections": phase.peak_connections,
        "errors": phase.errors[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between changes")
    parser.add_argument("--database", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="lisens-stream-"))
    with fresh_database(args.database or f"sqlite:///{directory / 'stream.db'}") as url:
        app, admin, signing_key = _seed(url, directory)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "LISENS_DATABASE_URL": url, "LISENS_SIGNING_KEY": str(signing_key)}
        command = [sys.executable, "-m", "lisens.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr: list[bytes] = []
        threading.Thread(target=lambda: stderr.extend(server.stderr or []), daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            database = make_url(url).database or ""
            phases = [
                asyncio.run(_phase(base, url, database, server.pid, app, admin, n, args.changes, args.pause))
                for n in (1, args.followers)
            ]
        finally:
            server.terminate()
            server.wait(30)
    summaries = [_summary(p) for p in phases]
    result = {
        "database": url.split(":")[0],
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "changes": args.changes,
        "pause_s": args.pause,
        "baseline": summaries[0],
        "many": summaries[1],
        "server_stderr_tail": b"".join(stderr).decode(errors="replace")[-500:],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:20} {value}")
    return 0 if all(s["missing"] == 0 and not s["errors"] for s in summaries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
