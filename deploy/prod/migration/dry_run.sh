#!/usr/bin/env bash
# The seed's entry point for the staging dry run; a thin wrapper over `npm run rehearse` (scripts/rehearse.ts).
#
#   bash deploy/prod/migration/dry_run.sh --help      every option and environment variable
#   bash deploy/prod/migration/dry_run.sh --dry-run   plan mode: prints every command that would run (redacted); writes nothing
#   bash deploy/prod/migration/dry_run.sh             full run: preflight → dump → restore → rsync → checks → reports (= npm test)
#
# Any other option (--verify-only, --rerun-failed, --select, --exclude) is passed on unchanged. Secrets come only from
# the environment (or a server-side .env you source yourself); nothing here reads or writes one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
if [ ! -d node_modules/vitest ]; then
  echo "dry_run.sh: dependencies are not installed; run: npm run bootstrap (or npm ci)" >&2
  exit 2
fi
# exec: signals (Ctrl-C, SIGTERM) reach the rehearsal itself, which stops its tools and records the interruption.
exec node bin/run.mjs rehearse "$@"
