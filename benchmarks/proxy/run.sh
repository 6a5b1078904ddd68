#!/usr/bin/env bash
# Proxy benchmark: Isthmus vs HAProxy in the same two-hop shape, plus the direct path.
#
#   caller (wrk) -> egress A -> mTLS (gateway SVIDs, one root, name-constrained intermediates) -> ingress B -> backend
#
# The backend is a separate HAProxy instance answering 200 "ok" from memory, so that neither proxy waits on it.
# Isthmus runs egress A and ingress B in one JVM; HAProxy runs both frontends in one process; both get the same
# number of threads (THREADS) and the very same certificates (written by io.isthmus.bench.proxy.ProxyBenchServer).
# Requests/s and p50/p99 with wrk at concurrency 1, 16, 64 (keep-alive); full mTLS handshakes/s on each ingress
# with `openssl s_time -new`.
#
# Usage: benchmarks/proxy/run.sh            (DURATION=10s THREADS=2 CONCURRENCY="1 16 64" SKIP_BUILD=1 to tune;
#        ISTHMUS_JAVA_OPTS="-XX:+UseParallelGC" adds JVM options to the Isthmus process;
#        VERDICT_CACHE=false verifies every peer SVID in full instead of reusing verdicts while bundles are unchanged;
#        CONCURRENCY="" measures handshakes only; PORT_BASE=25000 moves the ports)
# Needs: haproxy, wrk, openssl (apt-get install -y haproxy wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONCURRENCY=${CONCURRENCY-"1 16 64"}
HANDSHAKE_SECONDS=${HANDSHAKE_SECONDS:-10}
WORK=$(mktemp -d /tmp/isthmus-proxy-bench.XXXXXX)
# PORT_BASE moves every port (several people may run this on one machine).
PORT_BASE=${PORT_BASE:-25000}
BACKEND=$((PORT_BASE + 2080)) ISTHMUS_EGRESS=$((PORT_BASE + 1)) ISTHMUS_INGRESS=$((PORT_BASE + 443))
HAPROXY_EGRESS=$((PORT_BASE + 1001)) HAPROXY_INGRESS=$((PORT_BASE + 1443))
HOST=payments.billing.svc.clusterset.local
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

if [[ -z "${SKIP_BUILD:-}" ]]; then
  ./mvnw -q -B -pl benchmarks -am package -DskipTests
fi

cat > "$WORK/backend.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend backend
  bind 127.0.0.1:$BACKEND
  http-request return status 200 content-type text/plain string "ok"
CFG
haproxy -f "$WORK/backend.cfg" -db > "$WORK/backend.log" 2>&1 & PIDS+=($!)

"$JAVA_HOME/bin/java" -Xms256m -Xmx256m ${ISTHMUS_JAVA_OPTS:-} --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
  -Dio.netty.leakDetection.level=disabled -Disthmus.bench.verdict-cache="${VERDICT_CACHE:-true}" -cp benchmarks/target/benchmarks.jar io.isthmus.bench.proxy.ProxyBenchServer \
  "$WORK/pki" "$ISTHMUS_EGRESS" "$ISTHMUS_INGRESS" "$BACKEND" "$THREADS" > "$WORK/isthmus.log" 2>&1 & PIDS+=($!)
ISTHMUS_PID=$!
for _ in $(seq 1 100); do grep -q READY "$WORK/isthmus.log" && break; sleep 0.2; done
grep READY "$WORK/isthmus.log" || { cat "$WORK/isthmus.log"; exit 1; }

P=$WORK/pki
cat > "$WORK/haproxy.cfg" <<CFG
global
  nbthread $THREADS
  tune.ssl.default-dh-param 2048
defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
# Egress A: local callers (bearer token checked as a header match), then mTLS to ingress B with A's gateway SVID.
frontend egress_a
  bind 127.0.0.1:$HAPROXY_EGRESS
  http-request deny deny_status 401 unless { req.hdr(authorization) -m str "Bearer bench" }
  http-request del-header authorization
  http-request del-header x-forwarded-client-cert
  http-request set-header x-isthmus-caller spiffe://a.acme.internal/ns/bench/sa/wrk
  default_backend ingress_b
backend ingress_b
  http-reuse always
  server b 127.0.0.1:$HAPROXY_INGRESS ssl crt $P/a-gw.pem ca-file $P/root.pem verify required alpn http/1.1
# Ingress B: mutual TLS only, client chain verified to the root (the intermediate is name-constrained).
frontend ingress_b
  bind 127.0.0.1:$HAPROXY_INGRESS ssl crt $P/b-gw.pem ca-file $P/root.pem verify required alpn http/1.1
  http-request set-header x-forwarded-client-cert "By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=%[req.hdr(x-isthmus-caller)]"
  default_backend backend_b
backend backend_b
  http-reuse always
  server backend 127.0.0.1:$BACKEND
CFG
haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)
HAPROXY_PID=$!
BACKEND_PID=${PIDS[0]}
sleep 1

check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" -H "Authorization: Bearer bench" "http://127.0.0.1:$1/")
  [[ "$code" == 200 ]] || { echo "sanity check on port $1 answered $code"; cat "$WORK"/*.log; exit 1; }
}
check "$BACKEND"; check "$ISTHMUS_EGRESS"; check "$HAPROXY_EGRESS"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

run_wrk() { # name port concurrency pid-of-the-proxy-process
  local threads=$(( $3 < THREADS ? $3 : THREADS ))
  local out before after
  before=$(cpu_ticks "$4")
  out=$(wrk -t"$threads" -c"$3" -d"$DURATION" --latency -H "Host: $HOST" -H "Authorization: Bearer bench" \
    "http://127.0.0.1:$2/")
  after=$(cpu_ticks "$4")
  local rps p50 p99 errors total cpu_us
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  # CPU the proxy process (both hops) spent per request: comparable even when the machine is shared.
  cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  printf "%-10s c=%-3s %10s req/s  p50 %-9s p99 %-9s cpu/req %5s us  %s\n" "$1" "$3" "$rps" "$p50" "$p99" "$cpu_us" "$errors"
}

echo "== wrk keep-alive, $DURATION per run, proxies with $THREADS threads ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
# Warm-up (JIT) before measuring.
wrk -t2 -c16 -d5s -H "Host: $HOST" -H "Authorization: Bearer bench" "http://127.0.0.1:$ISTHMUS_EGRESS/" > /dev/null
for c in $CONCURRENCY; do
  run_wrk direct "$BACKEND" "$c" "$BACKEND_PID"
  run_wrk isthmus "$ISTHMUS_EGRESS" "$c" "$ISTHMUS_PID"
  run_wrk haproxy "$HAPROXY_EGRESS" "$c" "$HAPROXY_PID"
done

echo "== full mTLS handshakes on the ingress (openssl s_time -new, one client, ${HANDSHAKE_SECONDS}s; A's gateway SVID)"
for target in isthmus:$ISTHMUS_INGRESS haproxy:$HAPROXY_INGRESS; do
  name=${target%%:*} port=${target##*:}
  line=$(openssl s_time -connect "127.0.0.1:$port" -cert "$P/a-gw.crt" -key "$P/a-gw.key" -CAfile "$P/root.pem" \
    -new -time "$HANDSHAKE_SECONDS" 2>/dev/null | grep -E "connections/user sec|connections in" | tr '\n' ' ')
  printf "%-10s %s\n" "$name" "$line"
done
echo "(work dir: $WORK; load $(cut -d' ' -f1-3 /proc/loadavg))"
