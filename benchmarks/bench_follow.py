"""How fast a change reaches an app server that follows the tenant with `lisens.offline.Follower`.

A real server (uvicorn, SQLite) and a follower polling every second (its default). The plan of one
user is taken away and given back, alternately; each time, the clock runs from the answer of the
change until the follower's verified snapshot says so. Target: p99 under 5 s.

Run: .venv/bin/python benchmarks/bench_follow.py [--changes 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from lisens.api.app import create_app
from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.offline import Follower
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings
from lisens.signing import generate_keys

AT = datetime(2026, 1, 5, tzinfo=UTC)


def _change(base: str, token: str, *, give: bool) -> None:
    body = {"plans": ["sales-premium"]} if give else {"plan": True}
    request = urllib.request.Request(
        f"{base}/v1/tenants/acme/users/alice/assignments",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if give else "DELETE",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="lisens-follow-"))
    url = f"sqlite:///{directory / 'follow.db'}"
    engine = make_engine(url)
    upgrade(engine)
    signing_key, public_key = generate_keys(directory / "keys")
    with make_session_factory(engine)() as session:
        ctx = Context(session, "bench", may_correct=True)
        tenants.create_tenant(ctx, name="acme", generation="11", at=AT)
        tenants.set_seats(ctx, "acme", "sales-premium", 2, at=AT)
        users.add_user(ctx, "acme", "alice", at=AT)
        users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
        app_token = tokens.create_token(ctx, role="app", tenant="acme", at=AT)[0]
        admin_token = tokens.create_token(ctx, role="admin", tenant="acme", at=AT)[0]
        session.commit()
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(database_url=url, signing_key=signing_key))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    follower = Follower(base, app_token, "acme", public_key.read_bytes())
    follower.poll()
    threading.Thread(target=follower.follow, daemon=True).start()
    took: list[float] = []
    held = True
    for _ in range(args.changes):
        held = not held
        _change(base, admin_token, give=held)
        began = time.monotonic()
        while follower.has_license("alice", "quote-cal") != held:
            time.sleep(0.01)
        took.append(time.monotonic() - began)
    follower.stopped.set()
    server.should_exit = True
    ordered = sorted(took)
    results = {
        "changes": len(took),
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_s": ordered[-1],
    }
    met = results["p99_s"] < 5.0
    if args.json:
        print(json.dumps({"results": results, "targets_met": {"p99_s": met}}))
    else:
        print(f"Python {sys.version.split()[0]}")
        for key, value in results.items():
            print(f"  {key:10} {value:.3f}" if isinstance(value, float) else f"  {key:10} {value}")
        verdict = "met" if met else "NOT met"
        print(f"  {verdict}    a change reaches a follower within 5 s, p99 (measured {results['p99_s']:.3f})")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
