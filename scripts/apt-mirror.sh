# shellcheck shell=bash
# Sourced by scripts/bootstrap.sh and scripts/bootstrap-majors.sh: the one place that finds this machine's Debian
# mirror. The URI is read from the machine's own apt sources (deb822 .sources files first, then the one-line
# sources.list), the security suite skipped; it is never written into the repository.

# Print the mirror URI this machine already uses for the main Debian suite; print nothing when there is none.
apt_mirror_uri() {
  local uri="" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/{ if ($0 !~ /security/ && u!="") {print u; exit} }' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}
