#!/usr/bin/env bash
# The bench's own prerequisites (not the suite's, not test:self's): the peer it is measured against, pg_comparator
# (Debian's postgresql-comparator: the pg_comparator script and the pgcmp checksum functions for the installed server).
# Idempotent; needs root for apt-get, otherwise says what to install and goes on (the peer's figures are then n/a).
set -euo pipefail
if command -v pg_comparator >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench: pg_comparator is not installed; as root: apt-get install postgresql-comparator (its figures will be n/a)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q postgresql-comparator >/dev/null || {
  apt-get update -q >/dev/null && apt-get install -y -q postgresql-comparator >/dev/null
} || echo "bench: could not install postgresql-comparator (its figures will be n/a)" >&2
