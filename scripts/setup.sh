#!/usr/bin/env bash
# Source this (`. scripts/setup.sh`): installs what the project needs on a fresh Debian machine and leaves Node 24 on
# PATH. System packages via apt when missing (Java 17+, Maven, redis-server, curl, openssl); Node 24 from the npm registry
# when the system Node is older than 22; npm dependencies with `npm ci` when node_modules is missing or stale.
_setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_setup_missing=()
command -v java >/dev/null 2>&1 || _setup_missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || _setup_missing+=(maven)
command -v redis-server >/dev/null 2>&1 || _setup_missing+=(redis-server)
command -v curl >/dev/null 2>&1 || _setup_missing+=(curl)
command -v openssl >/dev/null 2>&1 || _setup_missing+=(openssl)
if [ "${#_setup_missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing with apt: ${_setup_missing[*]}" >&2
    apt-get update -qq && apt-get install -y -qq "${_setup_missing[@]}" >/dev/null
  else
    echo "setup: missing ${_setup_missing[*]}; install them (Debian: sudo apt-get install -y ${_setup_missing[*]})" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
# shellcheck source=bootstrap-node.sh
. "$_setup_root/scripts/bootstrap-node.sh" || { return 1 2>/dev/null || exit 1; }
if [ ! -f "$_setup_root/node_modules/.package-lock.json" ] ||
  [ "$_setup_root/package-lock.json" -nt "$_setup_root/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci" >&2
  (cd "$_setup_root" && npm ci --no-audit --no-fund) || { return 1 2>/dev/null || exit 1; }
fi
unset _setup_root _setup_missing
