#!/usr/bin/env bash
# The README's main command: set up, start Kafka/Redis/Apicurio from infra/, build, and run the service until it is
# healthy; then keep it in the foreground (Ctrl-C drains and stops it). MVAD_DEMO_ONCE=1 stops after the health check.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "setup: system packages, Node 24, npm ci"
. scripts/setup.sh

step "infrastructure: infra/infra.sh up"
endpoints="$(bash infra/infra.sh up)"
set -a
eval "$endpoints"
set +a

step "build"
npm run build --silent

port="${MVAD_HTTP_PORT:-8080}"
step "service: node dist/src/main.js (http://127.0.0.1:$port)"
mkdir -p .infra/service
MVAD_HTTP_PORT="$port" node dist/src/main.js >.infra/service/service.log 2>&1 &
service_pid=$!
stop_service() {
  if kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" && wait "$service_pid" || true
    echo "service stopped (infrastructure keeps running; stop it with: npm run infra:down)"
  fi
}
trap stop_service EXIT INT TERM

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$service_pid" 2>/dev/null || { cat .infra/service/service.log; echo "service exited during start-up" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" || { tail -n 30 .infra/service/service.log; exit 1; }
echo
step "healthy. /metrics excerpt:"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^mvad_(lifecycle_state|dependency_up)' || true

if [ "${MVAD_DEMO_ONCE:-0}" = 1 ]; then exit 0; fi
step "service running; logs follow (Ctrl-C to stop)"
tail -n +1 -f .infra/service/service.log &
tail_pid=$!
wait "$service_pid" || true
kill "$tail_pid" 2>/dev/null || true
