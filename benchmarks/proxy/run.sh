#!/usr/bin/env bash
# Proxy benchmark: Isthmus vs HAProxy in the same two-hop shape, plus the direct path.
#
#   caller (wrk) -> egress A -> mTLS (gateway SVIDs, one root, name-constrained intermediates) -> ingress B -> backend
#
# The backend is a separate HAProxy instance answering 200 "ok" from memory, so that neither proxy waits on it.
# Isthmus runs egress A and ingress B in one JVM; HAProxy runs both frontends in one process; both get the same
# number of threads (THREADS) and the very same certificates (written by io.isthmus.bench.proxy.ProxyBenchServer).
# PROCESSES=2 runs each proxy as two processes instead, as in a federation (one gateway per cluster): the egress in
# one and the ingress in the other, each with THREADS threads (Isthmus: -Disthmus.bench.role=ingress, then =egress;
# HAProxy: haproxy-egress.cfg and haproxy-ingress.cfg). In one process, at c=1, whether a call stays on one event
# loop or crosses between two is a start-up coin flip for Isthmus (results-2026-12-07.txt, section 4). With two
# processes every figure counts both: CPU per request, per GiB and per gRPC call, and C2's warm-up ticks are the sum
# of the two; the `threads` column gives the split per process, egress|ingress ("100/0|100/0"); the bulk transfer's
# RSS before and peak are the sums over the two processes (each process's own peak, VmHWM, so at most the true
# combined peak), with the per-process figures after them on the printed line.
# Requests/s and p50/p99 with wrk at concurrency 1, 16, 64 (keep-alive); full mTLS handshakes/s on each ingress
# with `openssl s_time -new`; a 1 GiB streamed download (nginx serves it; throughput, the gateway process's CPU and
# peak RSS); gRPC unary and server streaming (io.isthmus.bench.proxy.GrpcLoad, a grpc-java client and server, h2c to
# the egress) through both gateways and direct.
#
# Isthmus and HAProxy are measured in the same run, interleaved (round by round, alternating which goes first), each
# configuration ROUNDS times; the summary gives the median, the spread (min-max) and the ratio Isthmus/HAProxy of the
# medians. Isthmus carries all HTTP between gateways on multiplexed HTTP/2 (issue 14 item 3); HAProxy uses pooled
# HTTP/1.1 there (`haproxy`, its best case) and, as a reference, HTTP/2 (`haproxy-h2`, the same protocol as Isthmus).
#
# Usage: benchmarks/proxy/run.sh            (DURATION=10s THREADS=2 CONCURRENCY="1 16 64" ROUNDS=3 WARMUP=10s WARMUP_MAX=180s YOUNG_GCS=20
#        SKIP_BUILD=1 to tune; ISTHMUS_JAVA_OPTS="-XX:+UseParallelGC" adds JVM options to the Isthmus process
#        (ISTHMUS_JAVA_OPTS=-XX:-UseTransparentHugePages runs it on 4 KB pages, as before stop 43);
#        (ISTHMUS_JAVA_OPTS="-Disthmus.bench.access-log-file=/tmp/al" appends each request's access-log line, with its
#        duration_us inside the gateway, to /tmp/al.a for the egress and /tmp/al.b for the ingress);
#        VERDICT_CACHE=false verifies every peer SVID in full instead of reusing verdicts while bundles are unchanged;
#        HAPROXY_LOG=0 runs HAProxy without its per-request log line (Isthmus keeps its access log unless
#        ISTHMUS_ACCESS_LOG=false);
#        PROCESSES=2 runs the egress and the ingress of each proxy as two processes (default 1);
#        CONCURRENCY="" skips wrk; BULK=0 skips the 1 GiB transfer; GRPC=0 skips gRPC (GRPC_CONCURRENCY=16 unary
#        calls in flight, GRPC_STREAMS=4 streams, GRPC_SECONDS=10 after GRPC_WARMUP=5); HANDSHAKE_SECONDS=0 skips handshakes; PORT_BASE=25000 moves ports)
# Needs: haproxy, wrk, openssl, nginx, curl, python3, GNU time (apt-get install -y haproxy wrk nginx-light curl time).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk
missing=()
for tool in haproxy wrk openssl nginx curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
done
if (( ${#missing[@]} )); then
  echo "benchmarks/proxy/run.sh: missing ${missing[*]}; install with: apt-get install -y haproxy wrk nginx-light curl time" >&2
  exit 1
fi

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
PROCESSES=${PROCESSES:-1}
[[ "$PROCESSES" == 1 || "$PROCESSES" == 2 ]] || { echo "benchmarks/proxy/run.sh: PROCESSES must be 1 or 2" >&2; exit 1; }
CONCURRENCY=${CONCURRENCY-"1 16 64"}
HANDSHAKE_SECONDS=${HANDSHAKE_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-10s}
WARMUP_MAX=${WARMUP_MAX:-180s}
BULK=${BULK:-1}
GRPC=${GRPC:-1}
GRPC_CONCURRENCY=${GRPC_CONCURRENCY:-16}
GRPC_STREAMS=${GRPC_STREAMS:-4}
GRPC_SECONDS=${GRPC_SECONDS:-10}
GRPC_WARMUP=${GRPC_WARMUP:-5}
WORK=$(mktemp -d /tmp/isthmus-proxy-bench.XXXXXX)
# PORT_BASE moves every port (several people may run this on one machine).
PORT_BASE=${PORT_BASE:-25000}
BACKEND=$((PORT_BASE + 2080)) ISTHMUS_EGRESS=$((PORT_BASE + 1)) ISTHMUS_INGRESS=$((PORT_BASE + 443))
HAPROXY_EGRESS=$((PORT_BASE + 1001)) HAPROXY_INGRESS=$((PORT_BASE + 1443))
HAPROXY_EGRESS_H2=$((PORT_BASE + 1002)) HAPROXY_GRPC=$((PORT_BASE + 1003))
BULK_BACKEND=$((PORT_BASE + 2081)) GRPC_BACKEND=$((PORT_BASE + 2082))
HOST=payments.billing.svc.clusterset.local BULK_HOST=bulk.billing.svc.clusterset.local
GRPC_HOST=grpc.billing.svc.clusterset.local
RESULTS=$WORK/results.tsv
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

if [[ -z "${SKIP_BUILD:-}" ]]; then
  ./mvnw -q -B -pl benchmarks -am package -DskipTests
fi

. benchmarks/proxy/backend.sh
ok_backend "$WORK" "$BACKEND"; PIDS+=($!)

# The 1 GiB body: a sparse file (zeros from the page cache, no disk), sent by nginx with sendfile.
mkdir -p "$WORK/www" "$WORK/nginx"
truncate -s 1G "$WORK/www/1g"
chmod 755 "$WORK" "$WORK/www" && chmod 644 "$WORK/www/1g"  # nginx's workers do not run as root
cat > "$WORK/nginx.conf" <<CFG
worker_processes 1;
daemon off;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  sendfile on;
  server { listen 127.0.0.1:$BULK_BACKEND; root $WORK/www; }
}
CFG
if [[ "$BULK" == 1 ]]; then
  nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" > "$WORK/nginx.log" 2>&1 & PIDS+=($!)
fi
GRPC_JAVA=("$JAVA_HOME/bin/java" -Xmx256m --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED
  -Dio.netty.leakDetection.level=disabled -cp benchmarks/target/benchmarks.jar io.isthmus.bench.proxy.GrpcLoad)
if [[ "$GRPC" == 1 ]]; then
  "${GRPC_JAVA[@]}" server "$GRPC_BACKEND" > "$WORK/grpc-server.log" 2>&1 & PIDS+=($!)
fi

# The gateway JVM starts through the packages' and the image's launcher (with-jvm-cache; "-": no state directory, so no
# start-up cache), so it runs with the JVM options that ship: transparent huge pages where the kernel offers them.
start_isthmus() { # role log: starts one gateway JVM and waits for its READY; the pid lands in PIDS
  packaging/src/main/sh/with-jvm-cache - "$JAVA_HOME/bin/java" -Xms256m -Xmx256m ${ISTHMUS_JAVA_OPTS:-} --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
    -Dio.netty.leakDetection.level=disabled -Disthmus.bench.verdict-cache="${VERDICT_CACHE:-true}" -Disthmus.bench.access-log="${ISTHMUS_ACCESS_LOG:-true}" \
    -Disthmus.bench.role="$1" -cp benchmarks/target/benchmarks.jar io.isthmus.bench.proxy.ProxyBenchServer \
    "$WORK/pki" "$ISTHMUS_EGRESS" "$ISTHMUS_INGRESS" "$BACKEND" "$THREADS" "$BULK_BACKEND" "$GRPC_BACKEND" \
    > "$WORK/$2" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 100); do grep -q READY "$WORK/$2" && break; sleep 0.2; done
  grep READY "$WORK/$2" || { cat "$WORK/$2"; exit 1; }
}
# ISTHMUS_PIDS and HAPROXY_PIDS: the proxy's processes, egress first ("egress ingress" with PROCESSES=2).
if [[ "$PROCESSES" == 1 ]]; then
  start_isthmus both isthmus.log; ISTHMUS_PIDS=${PIDS[-1]}
else
  start_isthmus ingress isthmus-ingress.log; isthmus_ingress_pid=${PIDS[-1]}  # it writes the PKI the egress reads
  start_isthmus egress isthmus-egress.log; ISTHMUS_PIDS="${PIDS[-1]} $isthmus_ingress_pid"
fi

P=$WORK/pki
# Log parity: Isthmus formats one JSON access-log line per request per hop (its default) and the benchmark discards
# it unwritten; with HAPROXY_LOG=1 (default) HAProxy formats its httplog line per request per frontend into an
# in-memory ring, also never written (no syscall). HAPROXY_LOG=0 gives HAProxy no log at all (the runs before
# 2026-12-05 10:00 UTC); ISTHMUS_ACCESS_LOG=false turns Isthmus's off.
haproxy_head "$THREADS" "${HAPROXY_LOG:-1}" > "$WORK/haproxy-head.cfg"
{
  haproxy_egress "$P" "$HAPROXY_INGRESS" http/1.1 "" "127.0.0.1:$HAPROXY_EGRESS"
  # The same egress with HTTP/2 between the gateways (as Isthmus does), and its h2c side for gRPC callers.
  haproxy_egress "$P" "$HAPROXY_INGRESS" h2 _h2 "127.0.0.1:$HAPROXY_EGRESS_H2" "127.0.0.1:$HAPROXY_GRPC proto h2"
} > "$WORK/haproxy-egress.cfg"
haproxy_ingress "$P" "$HAPROXY_INGRESS" "$BACKEND" $'  use_backend backend_grpc if { req.hdr(host) -m beg grpc. }\n  use_backend backend_bulk if { req.hdr(host) -m beg bulk. }\n' \
  > "$WORK/haproxy-ingress.cfg"
cat >> "$WORK/haproxy-ingress.cfg" <<CFG
backend backend_bulk
  server bulk 127.0.0.1:$BULK_BACKEND
backend backend_grpc
  server grpc 127.0.0.1:$GRPC_BACKEND proto h2
CFG
if [[ "$PROCESSES" == 1 ]]; then
  cat "$WORK/haproxy-head.cfg" "$WORK/haproxy-egress.cfg" "$WORK/haproxy-ingress.cfg" > "$WORK/haproxy.cfg"
  haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)
  HAPROXY_PIDS=$!
else
  for part in ingress egress; do
    cat "$WORK/haproxy-head.cfg" "$WORK/haproxy-$part.cfg" > "$WORK/haproxy-$part-full.cfg"
    haproxy -f "$WORK/haproxy-$part-full.cfg" -db > "$WORK/haproxy-$part.log" 2>&1 & PIDS+=($!)
  done
  HAPROXY_PIDS="${PIDS[-1]} ${PIDS[-2]}"
fi
BACKEND_PID=${PIDS[0]}
sleep 1

check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" -H "Authorization: Bearer bench" "http://127.0.0.1:$1/")
  [[ "$code" == 200 ]] || { echo "sanity check on port $1 answered $code"; cat "$WORK"/*.log; exit 1; }
}
check "$BACKEND"; check "$ISTHMUS_EGRESS"; check "$HAPROXY_EGRESS"; check "$HAPROXY_EGRESS_H2"

cpu_ticks() { # pids...: user + system ticks, summed over the processes
  local p total=0
  for p in $1; do total=$((total + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
  echo "$total"
}
# The whole machine's idle (idle + iowait) and total ticks, from the first line of /proc/stat.
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat; }

# "tid ticks" of each worker thread of a process: Isthmus's I/O event loops (threads named *-io-*), else every thread
# (HAProxy's nbthread threads).
thread_ticks() {
  local t io=0
  for t in /proc/"$1"/task/*; do [[ $(cat "$t/comm" 2>/dev/null) == *-io-* ]] && io=1 && break; done
  for t in /proc/"$1"/task/*; do
    if (( ! io )) || [[ $(cat "$t/comm" 2>/dev/null) == *-io-* ]]; then echo "${t##*/} $(awk '{print $14+$15}' "$t/stat")"; fi
  done
}
# How a run's CPU split between those threads, busiest first ("51/49", or "100/0" when one thread did all the work):
# at c=1 the one caller's request either stays on one event loop or crosses between two (with PROCESSES=1 Isthmus's
# egress and ingress share one process; which it is depends on where the ingress placed the egress's pooled
# connections at start). With two processes, one split per process, egress|ingress.
thread_split() { # before-lines after-lines
  join <(sort <<<"$1") <(sort <<<"$2") | awk '{ print $3 - $2 }' | sort -rn \
    | awk '{ v[NR] = $1; s += $1 } END { for (i = 1; i <= NR && i <= 2; i++) printf "%s%.0f", (i > 1 ? "/" : ""), (s ? 100 * v[i] / s : 0) }'
}

run_wrk() { # name port concurrency pid-of-the-proxy-process
  local threads=$(( $3 < THREADS ? $3 : THREADS ))
  local out before after
  local idle_before total_before
  read -r idle_before total_before < <(machine_ticks)
  local -A split_before
  local p
  for p in $4; do split_before[$p]=$(thread_ticks "$p"); done
  before=$(cpu_ticks "$4")
  out=$(/usr/bin/time -f 'wrk-cpu %U %S' -o "$WORK/wrk.time" wrk -t"$threads" -c"$3" -d"$DURATION" --latency \
    -H "Host: $HOST" -H "Authorization: Bearer bench" "http://127.0.0.1:$2/")
  after=$(cpu_ticks "$4")
  local split=""
  for p in $4; do split+="${split:+|}$(thread_split "${split_before[$p]}" "$(thread_ticks "$p")")"; done
  local idle_after total_after idle_pct wrk_us
  read -r idle_after total_after < <(machine_ticks)
  local rps p50 p99 errors total cpu_us
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  # CPU the proxy's process(es) (both hops) spent per request: comparable even when the machine is shared.
  cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
  # Where the rest of the machine went: the share of both cores left idle during the run (a proxy that leaves cores
  # idle at c=64 is waiting, not working), and the load generator's own CPU per request.
  idle_pct=$(awk -v i=$((idle_after - idle_before)) -v t=$((total_after - total_before)) 'BEGIN { printf "%.0f", 100 * i / t }')
  wrk_us=$(awk -v n="$total" '$1 == "wrk-cpu" { printf "%.0f", ($2 + $3) * 1e6 / n }' "$WORK/wrk.time")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  printf "%-10s c=%-3s %10s req/s  p50 %-9s p99 %-9s cpu/req %5s us  wrk %3s us  idle %3s%%  threads %-7s %s\n" "$1" \
    "$3" "$rps" "$p50" "$p99" "$cpu_us" "$wrk_us" "$idle_pct" "$split" "$errors"
  printf "http c=%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$3" "$1" "$rps" "$p50" "$p99" "$cpu_us" "$wrk_us" "$idle_pct" >> "$RESULTS"
}

# Runs "$@" once per name in NAMES, the order alternating with ROUND so that neither proxy always goes first.
interleaved() { # round command-taking-a-name...
  local round=$1; shift
  local order=(isthmus haproxy haproxy-h2)
  (( round % 2 == 0 )) && order=(haproxy-h2 haproxy isthmus)
  for name in "${order[@]}"; do "$@" "$name"; done
}
port_of() { case $1 in isthmus) echo "$ISTHMUS_EGRESS";; haproxy) echo "$HAPROXY_EGRESS";;
  haproxy-h2) echo "$HAPROXY_EGRESS_H2";; direct) echo "$BACKEND";; esac; }
pid_of() { case $1 in isthmus) echo "$ISTHMUS_PIDS";; haproxy|haproxy-h2) echo "$HAPROXY_PIDS";;
  direct) echo "$BACKEND_PID";; esac; }
wrk_named() { run_wrk "$2" "$(port_of "$2")" "$1" "$(pid_of "$2")"; }

# One 1 GiB download through $1: throughput, CPU of the serving process(es) per GiB, and the peak RSS during the
# transfer (VmHWM, reset first with clear_refs) next to the RSS before; with two processes the sums, then each.
bulk_named() {
  local name=$1 port pid before after rss_before=0 hwm=0 out each="" p peak
  case $name in isthmus) port=$ISTHMUS_EGRESS pid=$ISTHMUS_PIDS;; haproxy) port=$HAPROXY_EGRESS pid=$HAPROXY_PIDS;;
    haproxy-h2) port=$HAPROXY_EGRESS_H2 pid=$HAPROXY_PIDS;; direct) port=$BULK_BACKEND pid=$(pgrep -P "$NGINX_PID" | head -1);; esac
  for p in $pid; do
    echo 5 > "/proc/$p/clear_refs"
    rss_before=$((rss_before + $(awk '/VmRSS/ {print $2}' "/proc/$p/status")))
  done
  before=$(cpu_ticks "$pid")
  out=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' -H "Host: $BULK_HOST" \
    -H "Authorization: Bearer bench" "http://127.0.0.1:$port/1g")
  after=$(cpu_ticks "$pid")
  for p in $pid; do
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$p/status") hwm=$((hwm + peak)) each+="${each:+|}$((peak / 1024))"
  done
  if [[ "$pid" == *" "* ]]; then each=" (peaks egress|ingress $each MiB)"; else each=""; fi
  read -r code size speed <<<"$out"
  [[ "$code" == 200 && "$size" == 1073741824 ]] || echo "!! $name: 1 GiB download answered $code with $size bytes"
  local mibs cpu_ms
  mibs=$(awk -v s="$speed" 'BEGIN { printf "%.0f", s / 1048576 }')
  cpu_ms=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t / hz * 1000 }')
  printf "%-10s 1 GiB down %6s MiB/s  cpu %5s ms/GiB  RSS %6s MiB before, peak %6s MiB%s\n" "$name" "$mibs" "$cpu_ms" \
    $((rss_before / 1024)) $((hwm / 1024)) "$each"
  printf "bulk 1GiB\t%s\t%s\t-\t-\t%s\t%s\t%s\n" "$name" "$mibs" "$cpu_ms" $((rss_before / 1024)) $((hwm / 1024)) >> "$RESULTS"
}

# gRPC through $2 (unary or stream): rate, p50/p99 (unary), CPU of the gateway process(es) per call or message.
grpc_named() {
  local mode=$1 name=$2 port pid before after out n
  case $name in isthmus) port=$ISTHMUS_EGRESS pid=$ISTHMUS_PIDS;; haproxy|haproxy-h2) port=$HAPROXY_GRPC pid=$HAPROXY_PIDS;;
    direct) port=$GRPC_BACKEND pid=$GRPC_PID;; esac
  [[ "$name" == haproxy-h2 ]] && return 0  # HAProxy's gRPC path is HTTP/2 on every hop already: row "haproxy"
  n=$GRPC_CONCURRENCY; [[ "$mode" == stream ]] && n=$GRPC_STREAMS
  before=$(cpu_ticks "$pid")
  out=$("${GRPC_JAVA[@]}" "$mode" "$port" "$GRPC_HOST" "$n" "$GRPC_WARMUP" "$GRPC_SECONDS" 2>"$WORK/grpc-client.err")
  after=$(cpu_ticks "$pid")
  local total cpu_us rate p50 p99
  total=${out##*total=}
  cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
  rate=$(awk '{print $1}' <<<"$out")
  if [[ "$mode" == unary ]]; then
    p50=$(awk '{print $4}' <<<"$out") p99=$(awk '{print $6}' <<<"$out")
    printf "%-10s grpc unary  c=%-3s %10s calls/s  p50 %-9s p99 %-9s cpu/call %5s us  %s\n" "$name" "$n" "$rate" "$p50" "$p99" "$cpu_us" "${out#*errors}"
  else
    p50=- p99=-
    printf "%-10s grpc stream x%-3s %10s msgs/s (1 KiB)  cpu/msg %5s us  %s\n" "$name" "$n" "$rate" "$cpu_us" "${out#*MiB/s}"
  fi
  printf "grpc %s\t%s\t%s\t%s\t%s\t%s\n" "$mode" "$name" "$rate" "$p50" "$p99" "$cpu_us" >> "$RESULTS"
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; uptime before: $(uptime)"
[[ "$PROCESSES" == 1 ]] || echo "== egress and ingress of each proxy in two processes, $THREADS threads each (CPU and RSS summed over both; threads egress|ingress)"
echo "== logs: Isthmus access log ${ISTHMUS_ACCESS_LOG:-true} (formatted, discarded); HAProxy httplog into a memory ring: $([[ "${HAPROXY_LOG:-1}" == 1 ]] && echo on || echo off)"
# Warm-up. The JIT compiles the request path; a gateway runs for days, and a measurement should not pay for that
# (on a loaded 2-core machine C2 needed 40 s of load and 7 CPU-seconds). Each step loads Isthmus for 5 s at every
# measured concurrency in turn: the JIT compiles and re-profiles for the shape of the traffic, and a warm-up at c=16
# alone left C2 compiling for 124-824 ms of every later 10 s c=1 window (results-2026-12-06.txt, section 6). Steps
# repeat until C2 used under 3% of a core over one (at least WARMUP, at most WARMUP_MAX); HAProxy gets one step.
# They also repeat until each Isthmus process has made YOUNG_GCS young collections (default 20): until then G1 copies
# what the process built at start between its survivor spaces at every young collection (it promotes an object after
# up to 15), and those pauses were 9-20 ms against about 2 ms after (results-2026-12-07.txt, stop 42). At c=1 wrk's
# coordinated-omission correction turns each such pause into dozens of samples of its p99: a gateway that has run for
# a while does not make them, so the measurement should not either.
c2_ticks() { # pids...: the C2 compiler threads' ticks, summed over the processes
  local total=0 t s
  for t in $(for p in $1; do echo /proc/"$p"/task/*; done); do
    [[ $(cat "$t/comm" 2>/dev/null) == C2* ]] || continue
    s=($(sed 's/.*) //' "$t/stat")); total=$((total + s[11] + s[12]))
  done
  echo "$total"
}
WARM_CONCURRENCY=${CONCURRENCY:-16}  # with CONCURRENCY="" (bulk or gRPC rows only), the c=16 of earlier runs
warm_step() { # port: 5 s of wrk at each measured concurrency
  local c
  for c in $WARM_CONCURRENCY; do
    wrk -t"$(( c < THREADS ? c : THREADS ))" -c"$c" -d5s -H "Host: $HOST" -H "Authorization: Bearer bench" \
      "http://127.0.0.1:$1/" > /dev/null
  done
}
step_seconds=$(( 5 * $(wc -w <<< "$WARM_CONCURRENCY") ))
warm=0 jit=-1 young=0
while :; do
  before=$(c2_ticks "$ISTHMUS_PIDS")
  warm_step "$ISTHMUS_EGRESS"
  warm=$((warm + step_seconds)) jit=$(( $(c2_ticks "$ISTHMUS_PIDS") - before )) young=$(fewest_young_gcs "$ISTHMUS_PIDS")
  (( warm >= ${WARMUP%s} && jit * 100 < 3 * step_seconds * $(getconf CLK_TCK) && young >= ${YOUNG_GCS:-20} )) && break
  (( warm >= ${WARMUP_MAX%s} )) && break
done
echo "Isthmus warmed up for ${warm}s at c=$WARM_CONCURRENCY (C2 in the last ${step_seconds} s: $jit ticks of $(getconf CLK_TCK)/s; young collections: $young in the process with fewest)"
for port in "$HAPROXY_EGRESS" "$HAPROXY_EGRESS_H2"; do
  warm_step "$port"
done
if [[ -n "$CONCURRENCY" ]]; then
  echo "== wrk keep-alive, $DURATION per run, $ROUNDS rounds, proxies with $THREADS threads (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for c in $CONCURRENCY; do
    run_wrk direct "$BACKEND" "$c" "$BACKEND_PID"
    for round in $(seq 1 "$ROUNDS"); do interleaved "$round" wrk_named "$c"; done
  done
fi
if [[ "$BULK" == 1 ]]; then
  NGINX_PID=$(cat "$WORK/nginx/nginx.pid")
  echo "== 1 GiB download (curl), $ROUNDS rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
  # The streaming path has code of its own for the JIT: one unmeasured transfer through Isthmus first (in the
  # 2026-12-05 runs, made without it, Isthmus's first transfer cost 6.3 CPU-s/GiB against 2.2-2.9 for the others).
  curl -s -o /dev/null -H "Host: $BULK_HOST" -H "Authorization: Bearer bench" "http://127.0.0.1:$ISTHMUS_EGRESS/1g"
  bulk_named direct
  for round in $(seq 1 "$ROUNDS"); do interleaved "$round" bulk_named; done
fi
if [[ "$GRPC" == 1 ]]; then
  GRPC_PID=$(pgrep -f "GrpcLoad server $GRPC_BACKEND" | head -1)
  echo "== gRPC (grpc-java, h2c to the egress), ${GRPC_SECONDS}s after ${GRPC_WARMUP}s warm-up per run, $ROUNDS rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
  # The gRPC path (h2c from the caller, h2c to the backend) has code of its own for the JIT: warm it up first.
  "${GRPC_JAVA[@]}" unary "$ISTHMUS_EGRESS" "$GRPC_HOST" "$GRPC_CONCURRENCY" 20 1 > /dev/null 2>&1
  "${GRPC_JAVA[@]}" stream "$ISTHMUS_EGRESS" "$GRPC_HOST" "$GRPC_STREAMS" 10 1 > /dev/null 2>&1
  grpc_named unary direct
  for round in $(seq 1 "$ROUNDS"); do interleaved "$round" grpc_named unary; done
  grpc_named stream direct
  for round in $(seq 1 "$ROUNDS"); do interleaved "$round" grpc_named stream; done
fi

[[ "$HANDSHAKE_SECONDS" == 0 ]] || echo "== full mTLS handshakes on the ingress (openssl s_time -new, one client, ${HANDSHAKE_SECONDS}s; A's gateway SVID)"
for target in isthmus:$ISTHMUS_INGRESS haproxy:$HAPROXY_INGRESS; do
  [[ "$HANDSHAKE_SECONDS" == 0 ]] && break
  name=${target%%:*} port=${target##*:}
  line=$(openssl s_time -connect "127.0.0.1:$port" -cert "$P/a-gw.crt" -key "$P/a-gw.key" -CAfile "$P/root.pem" \
    -new -time "$HANDSHAKE_SECONDS" 2>/dev/null | grep -E "connections/user sec|connections in" | tr '\n' ' ')
  printf "%-10s %s\n" "$name" "$line"
done
echo "== summary: median of $ROUNDS rounds [min-max]; ratio = Isthmus / HAProxy (HTTP/1.1 between gateways), and / haproxy-h2"
python3 benchmarks/proxy/summary.py "$RESULTS"
echo "(work dir: $WORK; uptime after: $(uptime))"
