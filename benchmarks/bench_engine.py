"""Benchmarks of the pure engine: has_license, resolving many users, loading the catalogs.

Run: .venv/bin/python benchmarks/bench_engine.py [--json]
Each measurement is repeated and the median reported; the targets are checked and printed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from lisens.catalog.loader import DATA_DIR, _load_all, load_catalog
from lisens.domain.engine import combinations, require_plan, resolve, tenant_licenses

REPEATS = 7


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_has_license() -> dict[str, float]:
    """has_license on a resolved user against a bare frozenset membership test, same queries, same loop."""
    catalog = load_catalog("11")
    plan = require_plan(catalog, "sales-premium+service-essential")
    user = resolve(catalog, tenant_licenses(catalog, plans=[plan]), plan=plan)
    # Half held, half not; the spellings apps use (full lower-case constants and bare names).
    held = ["superoffice.sale-cal", "superoffice.quote-cal", "ej-client", "superoffice.server", "SuperOffice.t2"]
    missing = ["superoffice.mktg-auto-cal", "escalate", "superoffice.ej-mod-spm-cal", "adwiza.x", "superoffice.scim"]
    queries = (held + missing) * 10_000
    bare = frozenset(user.held)
    has_license = user.has_license

    def engine_loop() -> None:
        for name in queries:
            has_license(name)

    def bare_loop() -> None:
        for name in queries:
            name in bare  # noqa: B015 - the membership test is the work measured

    engine = median_seconds(engine_loop) / len(queries)
    baseline = median_seconds(bare_loop) / len(queries)

    # The first check of a spelling on a freshly resolved user goes through canonicalisation.
    tenant = user.tenant
    fresh = 20_000

    def resolve_only() -> None:
        for _ in range(fresh):
            resolve(catalog, tenant, plan=plan)

    def resolve_and_check() -> None:
        for index in range(fresh):
            resolve(catalog, tenant, plan=plan).has_license(queries[index % 10])

    first = (median_seconds(resolve_and_check) - median_seconds(resolve_only)) / fresh
    return {
        "has_license_ns": engine * 1e9,
        "frozenset_ns": baseline * 1e9,
        "ratio": engine / baseline,
        "has_license_first_check_ns": first * 1e9,
    }


def bench_resolve_100k() -> dict[str, float]:
    """Resolve 100,000 users holding 1 to 3 plans each (base plans and legal combinations)."""
    catalog = load_catalog("11")
    keys = [p.key for p in catalog.plans.values()] + [p.key for p in combinations(catalog)]
    rng = random.Random(11)
    users = [rng.choice(keys) for _ in range(100_000)]
    tenant = tenant_licenses(catalog, plans=[require_plan(catalog, key) for key in keys], addons=["cep"])
    direct = ("visible-for",)

    def work() -> None:
        for index, key in enumerate(users):
            resolve(catalog, tenant, plan=require_plan(catalog, key), direct=direct if index % 10 == 0 else ())

    return {"resolve_100k_s": median_seconds(work, repeats=5)}


def bench_load_catalogs() -> dict[str, float]:
    """Load and check every catalog file from disk (the loader's cache bypassed)."""
    directory = DATA_DIR.resolve()
    return {"load_all_catalogs_ms": median_seconds(lambda: _load_all.__wrapped__(directory)) * 1e3}


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


TARGETS = {
    "ratio": ("has_license within 3x of a bare frozenset membership test", 3.0),
    "resolve_100k_s": ("resolve 100,000 users in under 1 s", 1.0),
    "load_all_catalogs_ms": ("load all catalogs in under 200 ms", 200.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results: dict[str, float] = {}
    results |= bench_has_license()
    results |= bench_resolve_100k()
    results |= bench_load_catalogs()
    verdicts = {key: results[key] <= limit for key, (_, limit) in TARGETS.items()}
    machine = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "processor": cpu_name(),
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": results, "targets_met": verdicts}, indent=2))
        return
    print(f"Python {machine['python']} on {machine['machine']} ({machine['processor']})")
    for key, value in results.items():
        print(f"  {key:24} {value:12.3f}")
    for key, (text, limit) in TARGETS.items():
        print(f"  {'met' if verdicts[key] else 'MISSED':6} {text} (measured {results[key]:.3f}, limit {limit})")


if __name__ == "__main__":
    main()
