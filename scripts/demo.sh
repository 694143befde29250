#!/usr/bin/env bash
# Set up, then show the catalog: generations, the generation 11 plans and a license check explained.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/lisens catalog generations
.venv/bin/lisens catalog plans --generation 11
.venv/bin/lisens catalog explain superoffice.quote-cal --generation 11 --plan sales-premium
.venv/bin/lisens catalog explain superoffice.quote-cal --generation 11 --plan sales-essential || true
