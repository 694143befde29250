"""Start-up of the `lisens` command: `--help` and a license check on SQLite, against importing Typer and Rich.

Run: .venv/bin/python benchmarks/bench_cli.py [--runs 9] [--json]
Each command runs in a fresh interpreter (subprocess), alternating with the baseline
`python -c "import typer, rich"`; the medians are compared. Targets: `lisens --help` within 4x and
`lisens check TENANT USER LICENSE` (SQLite) within 8x of the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"help": 4.0, "check": 8.0}


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "LISENS_DATABASE_URL": f"sqlite:///{Path(directory) / 'cli.db'}"}
        # Python keeps each module's bytecode, as for any installed package (pip compiles what it
        # installs; Lisens installed for development is compiled on its first run). An environment
        # with PYTHONDONTWRITEBYTECODE would make every run compile Lisens's sources again while the
        # baseline's packages stay compiled: not the same footing.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        lisens = [sys.executable, "-m", "lisens.cli"]
        for setup in (
            ["tenant", "create", "acme", "--generation", "11"],
            ["seats", "set", "acme", "sales-premium", "5"],
            ["user", "add", "acme", "alice"],
            ["assign", "acme", "alice", "--plan", "sales-premium"],
        ):
            subprocess.run([*lisens, *setup], env=env, check=True, stdout=subprocess.DEVNULL)
        commands = {
            "baseline": [sys.executable, "-c", "import typer, rich"],
            "help": [*lisens, "--help"],
            "check": [*lisens, "check", "acme", "alice", "quote-cal"],
        }
        for command in commands.values():  # once unmeasured: bytecode written, files in the page cache
            subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # alternating, so load on the machine falls on all alike
            for name, command in commands.items():
                samples[name].append(timed(command, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    report = {
        **{f"{name}_ms": value * 1000 for name, value in medians.items()},
        **{f"{name}_ratio": medians[name] / medians["baseline"] for name in TARGETS},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        print(f"  {key:16} {value:10.2f}")
    for name, target in TARGETS.items():
        ratio = report[f"{name}_ratio"]
        print(f"  {name}: {ratio:.2f} x baseline, target <= {target}: {'met' if ratio <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
