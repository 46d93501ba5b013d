#!/usr/bin/env bash
# The README's test command: set up, start the local infrastructure (unless KAFKA_BROKERS / REDIS_URL /
# SCHEMA_REGISTRY_URL point elsewhere), run every test (`npm test`), and stop what was started, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { printf '\n=== [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "setup: system packages, Node 24, npm ci"
. scripts/setup.sh
node --version; java -version 2>&1 | head -1; redis-server --version

step "infrastructure: infra/infra.sh up"
summary() {
  # One closing line over both test layers, from vitest's JSON reports.
  node -e '
    const fs = require("node:fs")
    let passed = 0, failed = 0, skipped = 0
    for (const layer of ["unit", "integration"]) {
      const file = `.infra/test-results/${layer}.json`
      if (!fs.existsSync(file)) continue
      const r = JSON.parse(fs.readFileSync(file, "utf8"))
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0)
    }
    console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""))
  ' 2>/dev/null || true
}
# Servers already running before this script (e.g. a developer's `npm run infra:up`) are left running: known by
# their live pid files, not by readiness (a server still starting, or one up refuses, is not this script's to stop).
state="${MVAD_INFRA_DIR:-$PWD/.infra}"
already_up=""
for name in registry kafka redis; do
  if [ -f "$state/$name/pid" ] && kill -0 "$(cat "$state/$name/pid")" 2>/dev/null; then already_up+="$name"$'\n'; fi
done
cleanup() {
  local status=$? name started=()
  for name in registry kafka redis; do
    grep -qx "$name" <<<"$already_up" || started+=("$name")
  done
  if [ "${#started[@]}" -gt 0 ]; then
    step "infrastructure: infra/infra.sh down ${started[*]}"
    bash infra/infra.sh down "${started[@]}" || true
  fi
  printf '\n=== [%4ss] finished with exit code %s\n' "$((SECONDS - t0))" "$status"
  summary
  exit "$status"
}
trap cleanup EXIT
endpoints="$(bash infra/infra.sh up)"
# The secured listeners of the local Kafka and Redis, for test/integration/secure-connections.test.ts (unless the
# caller gave servers of their own, or a file for them).
if [ -z "${KAFKA_BROKERS:-}" ] && [ -z "${REDIS_URL:-}" ] && [ -z "${MVAD_TEST_SECURE_ENV_FILE:-}" ]; then
  bash infra/infra.sh secure-env >"$state/secure-env"
  export MVAD_TEST_SECURE_ENV_FILE="$state/secure-env"
fi
set -a
eval "$endpoints"
set +a
echo "KAFKA_BROKERS=$KAFKA_BROKERS REDIS_URL=$REDIS_URL SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"

rm -rf .infra/test-results
step "npm test: build, typecheck, lint, unit tests, integration tests"
npm test
