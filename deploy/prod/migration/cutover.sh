#!/usr/bin/env bash
# The seed's entry point for the production cutover; a thin wrapper over `npm run cutover` (scripts/cutover.ts).
# Read deploy/prod/migration/PROD_CUTOVER_RUNBOOK.md first.
#
#   bash deploy/prod/migration/cutover.sh --help
#   bash deploy/prod/migration/cutover.sh --plan              read-only: what the window will need, before it starts
#   bash deploy/prod/migration/cutover.sh --phase <name>      one cutover phase per invocation, gated by the checks
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
if [ ! -d node_modules/vitest ]; then
  echo "cutover.sh: dependencies are not installed; run: npm run bootstrap (or npm ci)" >&2
  exit 2
fi
exec node bin/run.mjs cutover "$@"
