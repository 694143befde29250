#!/usr/bin/env bash
# Set up, then run the server with a demo tenant on the default SQLite database.
# It prints bearer tokens for the demo tenant; the API docs are at http://127.0.0.1:8000/docs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/lisens db upgrade   # a database made by an earlier version is brought up to date first
exec .venv/bin/lisens serve --demo "$@"
