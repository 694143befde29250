#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy --strict on src/, alembic check, and the whole test suite
# on SQLite and on PostgreSQL (LISENS_TEST_DATABASE_URL; the local server by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LISENS_TEST_DATABASE_URL="${LISENS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy src
.venv/bin/pytest "$@"
