#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy --strict on src/, alembic check, and the whole test suite
# on SQLite and on PostgreSQL (LISENS_TEST_DATABASE_URL; the local server by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The panel's tests drive Debian's Chromium (Playwright's own browser download does not work here).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    fi
fi
export LISENS_TEST_DATABASE_URL="${LISENS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy src
.venv/bin/pytest "$@"
