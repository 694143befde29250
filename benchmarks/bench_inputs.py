"""Benchmark of the input guard (lisens.api.inputs) against what every request pays anyway.

Run: .venv/bin/python benchmarks/bench_inputs.py [--json]
For each body shape, the median time of `check_json(body)` and, in the same run and loop shape, of
`json.loads(body)`: FastAPI's own parse of the same bytes, which the guard adds to. Then a whole ASGI
request (a Starlette endpoint reading the JSON body) with and without the `InputGuard` middleware.
The ratios are the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from lisens.api.inputs import InputGuard, check_json

REPEATS = 7


def bodies() -> dict[str, bytes]:
    users = [f"u{n:04d}" for n in range(1000)]
    licenses = [f"superoffice.module{n}" for n in range(97)] + ["quote-cal", "sale-cal", "ej-client"]
    rows = [{"user": f"user{n:05d}", "plans": ["sales-premium"], "licenses": ["visible-for"]} for n in range(10_000)]
    return {
        # One user, one license: the request the check latency target is about.
        "single_check": json.dumps({"users": ["u0001"], "licenses": ["superoffice.quote-cal"]}).encode(),
        # 1,000 users x 100 licenses: the batch throughput target's body.
        "batch_check": json.dumps({"users": users, "licenses": licenses}).encode(),
        # 10,000 bulk rows: more than MAX_DEPTH brackets, so the depth walk runs over every value.
        "bulk_10k_rows": json.dumps({"rows": rows, "create_users": True}).encode(),
        # The same with a surrogate pair (an emoji) in every user: the text walk runs too.
        "bulk_10k_rows_escaped": json.dumps(
            {"rows": [{**row, "user": f"{row['user']}\U0001f600"} for row in rows], "create_users": True}
        ).encode(),
    }


def timed(function: Callable[[bytes], object], body: bytes, loops: int) -> float:
    """Median seconds per call over REPEATS rounds of `loops` calls."""
    rounds = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        for _ in range(loops):
            function(body)
        rounds.append((time.perf_counter() - began) / loops)
    return statistics.median(rounds)


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"users": len((await request.json())["users"])})


def asgi_request_s(app: ASGIApp, body: bytes, loops: int) -> float:
    """Median seconds per POST of `body` through `app`, called as a server would (no network)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/tenants/bench/check",
        "raw_path": b"/v1/tenants/bench/check",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    async def rounds() -> list[float]:
        found = []
        for _ in range(REPEATS):
            began = time.perf_counter()
            for _ in range(loops):
                await app(dict(scope), receive, send)
            found.append((time.perf_counter() - began) / loops)
        return found

    return statistics.median(asyncio.run(rounds()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, float] = {}
    targets: dict[str, bool] = {}
    for name, body in bodies().items():
        loops = max(1, 2_000_000 // len(body))
        guard = timed(check_json, body, loops)
        parse = timed(json.loads, body, loops)
        results[f"{name}_guard_us"] = guard * 1e6
        results[f"{name}_parse_us"] = parse * 1e6
        results[f"{name}_ratio"] = guard / parse
        targets[f"{name}_ratio"] = guard / parse <= 3.0
    bare = Starlette(routes=[Route("/v1/tenants/bench/check", _echo, methods=["POST"])])
    single = bodies()["single_check"]
    plain = asgi_request_s(bare, single, 20_000)
    guarded = asgi_request_s(InputGuard(bare), single, 20_000)
    results["request_bare_us"] = plain * 1e6
    results["request_guarded_us"] = guarded * 1e6
    results["request_ratio"] = guarded / plain
    targets["request_ratio"] = guarded / plain <= 1.5
    if args.json:
        print(json.dumps({"results": results, "targets_met": targets}, indent=2))
        return
    for key, value in results.items():
        print(f"  {key:34} {value:12.2f}")
    for key, met in targets.items():
        print(f"  {'met' if met else 'MISSED':6} {key} <= {1.5 if key == 'request_ratio' else 3}")


if __name__ == "__main__":
    main()
