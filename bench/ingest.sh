#!/usr/bin/env bash
# The ingest benchmark on this machine's local stack: bench/ingest.sh [ioc bench ingest options]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_venv
eval "$(ioc stack up)"
exec ioc bench ingest "$@"
