#!/usr/bin/env bash
# Idempotent fresh-machine bootstrap for migration-rehearsal.
# Installs what `npm run demo` and `npm run test:self` need, and nothing else:
#   - npm packages (npm ci) when node_modules is missing or older than package-lock.json
#   - rsync, the PostgreSQL server binaries and their dev headers (Debian packages)
#   - redis-server (Debian package), for `npm run sandbox -- up` only: the demo does not need Redis (Redis is not
#     migrated), but the project's own tests start the sandbox CLI. Installed without starting Debian's own service
#     on 6379 (a temporary policy-rc.d denies service starts when the machine has none).
#   - pgvector, built from Debian's `pgvector` source package (not packaged for Debian 12);
#     the mirror URI is read from this machine's own apt sources, never hard-coded.
# A no-op in well under a second when everything is there.
set -euo pipefail

cd "$(dirname "$0")/.."
log() { printf 'bootstrap: %s\n' "$*" >&2; }
# shellcheck source=scripts/apt-mirror.sh
. scripts/apt-mirror.sh

PG_MAJOR="${PG_MAJOR:-}"
if [ -z "$PG_MAJOR" ]; then
  # Prefer the newest installed server; else the client's major; else Debian 12's default.
  PG_MAJOR=$(ls -1 /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
  if [ -z "$PG_MAJOR" ] && command -v pg_dump >/dev/null; then
    PG_MAJOR=$(pg_dump --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
  fi
  PG_MAJOR="${PG_MAJOR:-15}"
fi
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"

need_npm=0
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  need_npm=1
fi

apt_pkgs=()
command -v rsync >/dev/null 2>&1 || apt_pkgs+=(rsync)
# Optional: only `npm run sandbox -- up` (and the tests of it) start Redis; a non-root user without it gets a hint.
optional_pkgs=()
command -v redis-server >/dev/null 2>&1 || optional_pkgs+=(redis-server)
# Headless Chromium renders report.html in the self-tests (driven by playwright-core with executablePath).
[ -x /usr/bin/chromium ] || optional_pkgs+=(chromium)
# The scale engines (COPY_ENGINE=pgcopydb, ASSETS_ENGINE=fpsync; lib/phases/engines/): Debian's pgcopydb (0.10 on
# Debian 12) and fpart (fpsync included). Optional like Redis: the default engines (pg_dump, rsync) need neither.
command -v pgcopydb >/dev/null 2>&1 || optional_pkgs+=(pgcopydb)
command -v fpsync >/dev/null 2>&1 || optional_pkgs+=(fpart)
# The self-tests prove fpsync's remote workers over an sshd they start on a loopback port (ssh client + server).
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 || optional_pkgs+=(openssh-server openssh-client)
[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || apt_pkgs+=("postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR")
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
  || apt_pkgs+=("postgresql-client-$PG_MAJOR")
need_vector=0
if [ ! -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ] || [ ! -f "/usr/lib/postgresql/$PG_MAJOR/lib/vector.so" ]; then
  need_vector=1
  [ -x "$PG_BIN/pg_config" ] && [ -d "/usr/include/postgresql/$PG_MAJOR/server" ] || apt_pkgs+=("postgresql-server-dev-$PG_MAJOR")
  command -v make >/dev/null 2>&1 || apt_pkgs+=(make)
  command -v gcc >/dev/null 2>&1 || apt_pkgs+=(gcc)
  command -v dpkg-source >/dev/null 2>&1 || apt_pkgs+=(dpkg-dev)
fi

if [ ${#optional_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_pkgs+=("${optional_pkgs[@]}")
  else
    log "note: optional pieces (Redis for \`npm run sandbox -- up\`, pgcopydb/fpart for COPY_ENGINE/ASSETS_ENGINE): sudo apt-get install -y ${optional_pkgs[*]} (the demo does not need them)"
  fi
fi

if [ ${#apt_pkgs[@]} -gt 0 ] || [ $need_vector -eq 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system pieces and not running as root. Install them, then rerun:"
    [ ${#apt_pkgs[@]} -gt 0 ] && log "  sudo apt-get install -y ${apt_pkgs[*]}"
    [ $need_vector -eq 1 ] && log "  pgvector for PostgreSQL $PG_MAJOR: rerun this script as root (sudo bash scripts/bootstrap.sh), it builds it from Debian's source package"
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    log "installing: ${apt_pkgs[*]}"
    apt-get update -qq
    # Never let a package start its system service (redis-server would take 6379, which the sandbox must not use).
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# migration-rehearsal bootstrap: no service starts during install\nexit 101\n' > "$policy"
      chmod 755 "$policy"
      own_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
    if [ $own_policy -eq 1 ]; then rm -f "$policy"; fi
  fi
fi

if [ $need_vector -eq 1 ]; then
  # The mirror this machine already uses for the main Debian suite (scripts/apt-mirror.sh).
  uri=$(apt_mirror_uri)
  if [ -z "$uri" ]; then
    log "cannot find a Debian mirror URI in /etc/apt/sources.list(.d); install pgvector for PostgreSQL $PG_MAJOR by hand"
    exit 2
  fi
  log "building pgvector from Debian's source package (trixie) via this machine's mirror"
  src_list=/etc/apt/sources.list.d/migration-rehearsal-pgvector-src.list
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  work=$(mktemp -d)
  cleanup() { rm -f "$src_list"; rm -rf "$work"; }
  trap cleanup EXIT
  echo "deb-src [signed-by=$keyring] $uri trixie main" > "$src_list"
  apt-get update -qq -o Dir::Etc::sourcelist="$src_list" -o Dir::Etc::sourceparts="-" -o APT::Get::List-Cleanup="0"
  (cd "$work" && apt-get source -qq --only-source pgvector >/dev/null 2>&1 || apt-get source --only-source pgvector)
  srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  [ -n "$srcdir" ] || { log "apt-get source pgvector produced no source tree"; exit 2; }
  make -s -C "$srcdir" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" >/dev/null
  make -s -C "$srcdir" PG_CONFIG="$PG_BIN/pg_config" install >/dev/null
  log "pgvector installed: $(grep default_version "/usr/share/postgresql/$PG_MAJOR/extension/vector.control")"
fi

if [ $need_npm -eq 1 ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Other PostgreSQL majors for the cross-version tests of `npm run test:self` (servers 13-18, pgvector for 13 and 17,
# client tools 17), cached outside the clone (MR_CACHE_DIR, default /var/cache/migration-rehearsal): minutes the
# first time on a fresh machine, a no-op afterwards. MR_MAJORS=0 skips it (the demo and the bench do not need it).
# A failure here does not stop the demo: the version tests then fail, naming what is missing.
if [ "${MR_MAJORS:-1}" != "0" ]; then
  bash scripts/bootstrap-majors.sh || log "other PostgreSQL majors are not installed (see above); the version tests of test:self will fail until scripts/bootstrap-majors.sh succeeds"
fi
