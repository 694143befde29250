"""Benchmarks of the HTTP API over loopback: batch check throughput, and single-check latency at a steady rate.

Run: .venv/bin/python benchmarks/bench_api.py [--json] [--seconds 10]
Starts `lisens serve` (one worker, SQLite in a temporary directory) and a minimal Starlette app
served the same way, seeds a tenant of 1,000 users, then measures both from one client process;
the largest batch check allowed is compared with the minimal app streaming the same number of bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx  # the HTTP client the development extras install

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import tenants, tokens, users
from lisens.service.context import Context

HERE = Path(__file__).parent
USERS = 1000
LICENSES = 100
LIMIT_LICENSES = 1000  # with USERS, the largest batch check allowed (1,000,000 pairs)
NOW = datetime(2026, 11, 22, tzinfo=UTC)
PLANS = ["sales-essential", "sales-premium", "service-premium", "sales-premium+service-premium+marketing-premium"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    session = make_session_factory(engine)()
    ctx = Context(session=session, actor="bench")
    tenants.create_tenant(ctx, name="bench", generation="11")
    for plan in PLANS:
        tenants.set_seats(ctx, "bench", plan, USERS)
    for n in range(USERS):
        users.add_user(ctx, "bench", f"u{n:04d}")
        users.assign(ctx, "bench", f"u{n:04d}", plans=PLANS[n % len(PLANS)].split("+"))
    token, _ = tokens.create_token(ctx, role="app", tenant="bench")
    session.commit()
    session.close()
    engine.dispose()
    return token


lisens_process: list[subprocess.Popen[bytes]] = []


def peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    """The peak resident memory of the serving process (one worker: it serves in process)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def server(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if "lisens.cli" in args:
        lisens_process.append(process)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(base + "/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def paced_latencies(
    client: httpx.Client, url: str, body: dict[str, object], *, rate: float, seconds: float
) -> list[float]:
    """Send one request every 1/rate seconds for `seconds`; return each latency in ms."""
    interval = 1.0 / rate
    samples: list[float] = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        wait = start + n * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        began = time.perf_counter()
        response = client.post(url, json=body)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return samples


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
%s
"""


def saturated_per_s(url: str, body: dict[str, object], token: str | None, seconds: float) -> float:
    """Requests per second with 64 connections kept busy by wrk (one thread), every answer a 2xx."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the saturated throughput: apt-get install wrk")
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (json.dumps(body), auth))
    try:
        command = ["wrk", "-t1", "-c64", f"-d{max(1, int(seconds))}s", "-s", script.name, url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    assert "Non-2xx" not in output, output
    found = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    assert found is not None, output
    return float(found.group(1))


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each latency run")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        token = seed(url)
        env = {**os.environ, "LISENS_DATABASE_URL": url}
        lisens_port, minimal_port = free_port(), free_port()
        lisens = [sys.executable, "-m", "lisens.cli", "serve", "--port", str(lisens_port)]
        minimal = [
            sys.executable,
            "-m",
            "uvicorn",
            "minimal_app:app",
            "--port",
            str(minimal_port),
            "--log-level",
            "warning",
            "--app-dir",
            str(HERE),
        ]
        with server(lisens, env, lisens_port) as base, server(minimal, env, minimal_port) as minimal_base:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(headers=headers, timeout=30) as client:
                check = f"{base}/v1/tenants/bench/check"
                names = [f"u{n:04d}" for n in range(USERS)]
                licenses = [f"superoffice.module{n}" for n in range(LICENSES - 3)] + [
                    "quote-cal",
                    "sale-cal",
                    "ej-client",
                ]
                batch = {"users": names, "licenses": licenses}
                client.post(check, json=batch)  # warm the cache
                rounds = []
                for _ in range(5):
                    began = time.perf_counter()
                    response = client.post(check, json=batch)
                    rounds.append(time.perf_counter() - began)
                    assert len(response.json()["results"]) == USERS * LICENSES
                results["batch_pairs_per_s"] = USERS * LICENSES / statistics.median(rounds)
                # The largest check allowed: 1,000 users x 1,000 licenses = 1,000,000 pairs, streamed.
                largest = {"users": names, "licenses": licenses * (LIMIT_LICENSES // LICENSES)}
                sizes, rounds = [], []
                for _ in range(3):
                    began = time.perf_counter()
                    response = client.post(check, json=largest)
                    rounds.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text[:300]
                    sizes.append(len(response.content))
                results["largest_check_s"] = statistics.median(rounds)
                results["largest_check_mb"] = sizes[0] / 1e6
                results["worker_peak_rss_mb"] = peak_rss_mb(lisens_process[0])
                over = client.post(check, json={"users": [*names, "one-more"], "licenses": largest["licenses"]})
                assert over.status_code == 413
                assert over.json()["code"] == "BATCH_TOO_LARGE"
                single = {"users": ["u0001"], "licenses": ["superoffice.quote-cal"]}
                for _ in range(200):
                    client.post(check, json=single)
                lisens_ms = paced_latencies(client, check, single, rate=200, seconds=args.seconds)
            # Saturated, alternating with the minimal endpoint: both in the same conditions.
            lisens_rates, minimal_rates = [], []
            for _ in range(2):
                lisens_rates.append(saturated_per_s(check, single, token, args.seconds / 2))
                minimal_rates.append(saturated_per_s(f"{minimal_base}/check", single, None, args.seconds / 2))
            with httpx.Client(timeout=30) as client:
                rounds = []
                for _ in range(3):
                    began = time.perf_counter()
                    streamed = client.get(f"{minimal_base}/stream", params={"size": sizes[0]})
                    rounds.append(time.perf_counter() - began)
                    assert len(streamed.content) == sizes[0]
                results["same_bytes_minimal_s"] = statistics.median(rounds)
                results["largest_check_ratio"] = results["largest_check_s"] / results["same_bytes_minimal_s"]
                for _ in range(200):
                    client.post(f"{minimal_base}/check", json=single)
                minimal_ms = paced_latencies(client, f"{minimal_base}/check", single, rate=200, seconds=args.seconds)
    results["check_p50_ms"] = percentile(lisens_ms, 0.50)
    results["check_p99_ms"] = percentile(lisens_ms, 0.99)
    results["minimal_p50_ms"] = percentile(minimal_ms, 0.50)
    results["minimal_p99_ms"] = percentile(minimal_ms, 0.99)
    results["p99_ratio"] = results["check_p99_ms"] / results["minimal_p99_ms"]
    results["saturated_per_s"] = statistics.median(lisens_rates)
    results["minimal_saturated_per_s"] = statistics.median(minimal_rates)
    results["saturated_ratio"] = results["saturated_per_s"] / results["minimal_saturated_per_s"]
    targets = {
        "batch_pairs_per_s": results["batch_pairs_per_s"] >= 100_000,
        "largest_check_s": results["largest_check_s"] < 2.0,
        "largest_check_ratio": results["largest_check_ratio"] <= 10.0,
        "check_p99_ms": results["check_p99_ms"] < 5.0,
        "p99_ratio": results["p99_ratio"] <= 2.0,
        "saturated_ratio": results["saturated_ratio"] >= 0.3,
    }
    if args.json:
        print(json.dumps({"results": results, "targets_met": targets}, indent=2))
        return
    for key, value in results.items():
        print(f"  {key:22} {value:14.2f}")
    for key, met in targets.items():
        print(f"  {'met' if met else 'MISSED':6} {key}")


if __name__ == "__main__":
    main()
