# Sourced by run.sh, ab.sh, counts.sh and stalls.sh: the backend both proxies call, a one-thread HAProxy answering 200 "ok" from
# memory (so that no proxy waits on it). Usage: ok_backend WORK PORT (starts it in the background; $! is its pid).
ok_backend() {
  cat > "$1/backend.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend backend
  bind 127.0.0.1:$2
  http-request return status 200 content-type text/plain string "ok"
CFG
  haproxy -f "$1/backend.cfg" -db > "$1/backend.log" 2>&1 &
}

# The HAProxy gateways of the `haproxy` row, for run.sh and counts.sh. HAProxy takes the same certificates as Isthmus
# (PKI: the directory ProxyBenchServer writes) and one thread per Isthmus event loop.
# haproxy_head THREADS LOG: global and defaults; LOG=1 formats an httplog line per request into an in-memory ring,
# never written (log parity with Isthmus's access log, formatted and discarded), LOG=0 none.
haproxy_head() {
  cat <<CFG
global
  nbthread $1
  tune.ssl.default-dh-param 2048
CFG
  if [[ "$2" == 1 ]]; then
    printf 'ring bench_log\n  format rfc5424\n  maxlen 1024\n  size 4194304\n'
  fi
  printf 'defaults\n  mode http\n'
  if [[ "$2" == 1 ]]; then
    printf '  log ring@bench_log local0\n  option httplog\n'
  fi
  cat <<CFG
  option http-keep-alive
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
CFG
}
# haproxy_egress PKI INGRESS_PORT ALPN SUFFIX BIND...: egress A (frontend egress_a<SUFFIX>) for local callers on each
# BIND ("127.0.0.1:<port>[ options]"; bearer token checked as a header match), then mutual TLS with A's gateway SVID to
# ingress B (backend ingress_b<SUFFIX>) on reused connections, speaking ALPN (http/1.1 for the `haproxy` row, h2 for
# `haproxy-h2`).
haproxy_egress() {
  local pki=$1 ingress=$2 alpn=$3 suffix=$4 bind
  shift 4
  echo "frontend egress_a$suffix"
  for bind in "$@"; do echo "  bind $bind"; done
  cat <<CFG
  http-request deny deny_status 401 unless { req.hdr(authorization) -m str "Bearer bench" }
  http-request del-header authorization
  http-request del-header x-forwarded-client-cert
  http-request set-header x-isthmus-caller spiffe://a.acme.internal/ns/bench/sa/wrk
  default_backend ingress_b$suffix
backend ingress_b$suffix
  http-reuse always
  server b 127.0.0.1:$ingress ssl crt $pki/a-gw.pem ca-file $pki/root.pem verify required alpn $alpn
CFG
}
# haproxy_ingress PKI INGRESS_PORT BACKEND_PORT [RULES]: ingress B, mutual TLS only (the client chain verified to the
# root; the intermediate is name-constrained), the caller in XFCC, then the backend; RULES (lines such as
# "  use_backend x if ...") go before its default_backend.
haproxy_ingress() {
  cat <<CFG
frontend ingress_b
  bind 127.0.0.1:$2 ssl crt $1/b-gw.pem ca-file $1/root.pem verify required alpn h2,http/1.1
  http-request set-header x-forwarded-client-cert "By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=%[req.hdr(x-isthmus-caller)]"
${4:-}  default_backend backend_b
backend backend_b
  http-reuse always
  server backend 127.0.0.1:$3
CFG
}

# The two proxies of counts.sh and stalls.sh, each as two processes (run.sh's PROCESSES=2) in front of ok_backend:
# Isthmus (ProxyBenchServer from JAR with 2 event loops and its access log on, started through the packages' launcher
# as run.sh does, so with the JVM options that ship, plus $ISTHMUS_JAVA_OPTS) and HAProxy (the `haproxy` row: HTTP/1.1
# between the gateways, its log into a memory ring). Sets BACKEND, IE/II (Isthmus egress/ingress ports), HE/HI
# (HAProxy's), ISE/ISI and HAE/HAI (pids), adds every pid to PIDS, and returns once both answer 200 through the chain.
# Usage: bench_pairs WORK JAR PORT_BASE
bench_pairs() {
  local work=$1 jar=$2 role code port
  BACKEND=$(($3 + 2080)) IE=$(($3 + 1)) II=$(($3 + 443)) HE=$(($3 + 1001)) HI=$(($3 + 1443))
  ok_backend "$work" "$BACKEND"; PIDS+=($!)
  for role in ingress egress; do  # the ingress writes the PKI the egress and HAProxy read
    # shellcheck disable=SC2086 # the extra options are words
    packaging/src/main/sh/with-jvm-cache - "$JAVA_HOME/bin/java" -Xms256m -Xmx256m ${ISTHMUS_JAVA_OPTS:-} \
      --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -Dio.netty.leakDetection.level=disabled \
      -Disthmus.bench.verdict-cache=true -Disthmus.bench.access-log=true -Disthmus.bench.role="$role" \
      -cp "$jar" io.isthmus.bench.proxy.ProxyBenchServer "$work/pki" "$IE" "$II" "$BACKEND" 2 "$BACKEND" "$BACKEND" \
      > "$work/$role.log" 2>&1 &
    PIDS+=($!)
    if [[ $role == ingress ]]; then ISI=$!; else ISE=$!; fi
    for _ in $(seq 1 150); do grep -q READY "$work/$role.log" && break; sleep 0.2; done
    grep -q READY "$work/$role.log" || { cat "$work/$role.log"; exit 1; }
  done
  haproxy_head 2 1 > "$work/head.cfg"
  { cat "$work/head.cfg"; haproxy_egress "$work/pki" "$HI" http/1.1 "" "127.0.0.1:$HE"; } > "$work/egress.cfg"
  { cat "$work/head.cfg"; haproxy_ingress "$work/pki" "$HI" "$BACKEND"; } > "$work/ingress.cfg"
  haproxy -f "$work/ingress.cfg" -db > "$work/haproxy-ingress.log" 2>&1 & PIDS+=($!); HAI=$!
  haproxy -f "$work/egress.cfg" -db > "$work/haproxy-egress.log" 2>&1 & PIDS+=($!); HAE=$!
  sleep 1
  for port in "$IE" "$HE"; do  # both paths answer 200 before anything is measured
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: payments.billing.svc.clusterset.local" \
      -H "Authorization: Bearer bench" "http://127.0.0.1:$port/")
    [[ "$code" == 200 ]] || { echo "sanity check on port $port answered $code"; tail -n 5 "$work"/*.log; exit 1; }
  done
}

# For the warm-ups of run.sh and stalls.sh (run.sh explains why they wait for young collections).
fewest_young_gcs() { # pids...: the smallest young-collection count among the processes (jstat's YGC column)
  local p n least=
  for p in $1; do
    n=$("$JAVA_HOME/bin/jstat" -gc "$p" | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "YGC") c = i } NR == 2 { print $c }')
    [[ -z "$least" || "$n" -lt "$least" ]] && least=$n
  done
  echo "${least:-0}"
}
