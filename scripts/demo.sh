#!/usr/bin/env bash
# The README's main command, end to end on real servers:
#   set up → start Kafka/Redis/Apicurio (infra/) → build → run the service → train a model on a bench entity
#   and deploy it to the entity through the control topic (mvad submit --wait: train, then deploy jobs) → stream
#   the entity's test rows through Kafka (mvad simulate) → print anomaly events as they arrive (mvad events; they
#   are Avro, schema in Apicurio) → list the schema subjects the run registered.
# The service keeps running afterwards (Ctrl-C stops it); MVAD_DEMO_ONCE=1 stops after the stream is scored.
# MVAD_DEMO_ENTITY picks another bench entity (default asd/omi-1); MVAD_DEMO_RATE rows per second (default 500).
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

entity_path="${MVAD_DEMO_ENTITY:-asd/omi-1}"
data="../shared/data/bench/$entity_path"
if [ ! -f "$data/train.csv" ]; then
  echo "bench entity $data not found; using the small fixture in test/fixtures/cli"
  data="test/fixtures/cli"
fi
entity="$(basename "$entity_path")"
run_id="demo-$(date +%s)"
# A fresh topic set and key prefix per run, so the demo never mixes with earlier runs or tests.
export MVAD_REDIS_KEY_PREFIX="$run_id" KAFKA_GROUP_ID="$run_id" MVAD_TOPIC_READINGS="$run_id.readings" \
  MVAD_TOPIC_EVENTS="$run_id.events" MVAD_TOPIC_SCORES="$run_id.scores" MVAD_TOPIC_DLQ="$run_id.dlq" \
  MVAD_TOPIC_CONTROL="$run_id.control" MVAD_TOPIC_STATUS="$run_id.status" MVAD_CHARTS_DIR=.infra/demo/charts \
  MVAD_TOPIC_PARTITIONS=2 MVAD_CONTROL_FILE_ROOTS="$data"
mvad() { node dist/src/cli/main.js "$@"; }
mkdir -p .infra/demo

port="${MVAD_HTTP_PORT:-8080}"
step "service: node dist/src/main.js (http://127.0.0.1:$port)"
MVAD_HTTP_HOST=127.0.0.1 MVAD_HTTP_PORT="$port" node dist/src/main.js >.infra/demo/service.log 2>&1 &
service_pid=$!
events_pid=""
stop_all() {
  [ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null || true
  if kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" && wait "$service_pid" || true
    echo "service stopped (infrastructure keeps running; stop it with: npm run infra:down, with the same MVAD_*_PORT variables if you moved the ports)"
  fi
}
trap stop_all EXIT INT TERM
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$service_pid" 2>/dev/null || { cat .infra/demo/service.log; echo "service exited during start-up" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz"
echo

step "train on $data/train.csv through the control topic (job train-$run_id)"
train_path="$(cd "$data" && pwd)/train.csv"
mvad submit --wait --json "{\"type\":\"train\",\"jobId\":\"train-$run_id\",\"modelId\":\"$entity-model\",
  \"source\":{\"kind\":\"file\",\"path\":\"$train_path\"},\"slidingWindow\":100,\"charts\":true}"

step "deploy the model to entity $entity (job deploy-$run_id)"
mvad submit --wait --json "{\"type\":\"deploy\",\"jobId\":\"deploy-$run_id\",\"modelId\":\"$entity-model\",
  \"entities\":[\"$entity\"]}"
mvad jobs list

step "anomaly events as they arrive (entity $entity)"
mvad events --from-beginning --idle 15 &
events_pid=$!
sleep 2
mvad simulate --input "$data/test.csv" --entity "$entity" --rate "${MVAD_DEMO_RATE:-500}"
wait "$events_pid" || true
events_pid=""

step "service metrics"
curl -fsS "http://127.0.0.1:$port/metrics" |
  grep -E '^mvad_(readings_total|frames_scored_total|anomalies_total|dead_letters_total|events_published_total)' || true

step "schema registry: subjects of this run (events in Avro; mvad events decoded them)"
curl -fsS "${SCHEMA_REGISTRY_URL%/}/subjects" | tr -d '[]"' | tr ',' '\n' | grep -F "$run_id" || true
grep -F '"eventSchemaId"' .infra/demo/service.log | sed -E 's/.*"eventSchemaId":([0-9]+).*/event schema id \1/' || true

if [ "${MVAD_DEMO_ONCE:-0}" = 1 ]; then exit 0; fi
step "service running on http://127.0.0.1:$port (Ctrl-C to stop); logs follow"
tail -n 5 -f .infra/demo/service.log &
tail_pid=$!
wait "$service_pid" || true
kill "$tail_pid" 2>/dev/null || true
