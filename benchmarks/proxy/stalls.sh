#!/usr/bin/env bash
# What stalls a call at concurrency 1: Isthmus and HAProxy (egress and ingress in two processes each, HTTP/1.1 between
# HAProxy's gateways, as counts.sh), each warmed up, then one bounded `wrk -t1 -c1` run per proxy under
# `perf sched record -a` (every context switch on the machine). stalls.py then lists, for each wait of wrk's thread of
# MIN_MS or more (a call that took that long), which threads ran on the CPUs meanwhile, and sums them per thread;
# and the distribution of each thread's runs. wrk's c=1 p99 is made of such stalls (run.sh's header).
#
# Usage: benchmarks/proxy/stalls.sh JAR   (PORT_BASE=26000 SECONDS_PER_RUN=10 MIN_MS=2 YOUNG_GCS=20; OUT=DIR keeps
#        the recordings; ISTHMUS_JAVA_OPTS adds JVM options to both Isthmus processes, e.g.
#        -XX:-UseTransparentHugePages)
#   JAR: benchmarks/target/benchmarks.jar. Needs: haproxy, wrk, perf (root, or perf_event_paranoid allowing the sched
#   tracepoints), python3, curl. Each recording is about 20 MB per second of wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk
JAR=$(realpath "$1") PORT_BASE=${PORT_BASE:-26000} SECS=${SECONDS_PER_RUN:-10} MIN_MS=${MIN_MS:-2}
WORK=$(mktemp -d /tmp/isthmus-proxy-stalls.XXXXXX); PIDS=()
OUT=${OUT:-$WORK}; mkdir -p "$OUT"
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
. benchmarks/proxy/backend.sh
bench_pairs "$WORK" "$JAR" "$PORT_BASE"
HEADERS=(-H "Host: payments.billing.svc.clusterset.local" -H "Authorization: Bearer bench")
load() { wrk -t1 -c"$2" -d"$3" "${HEADERS[@]}" "http://127.0.0.1:$1/" > /dev/null; }
# Warm: the JIT done and the start-up objects tenured (run.sh's YOUNG_GCS), HAProxy's caches too.
while (( $(fewest_young_gcs "$ISE $ISI") < ${YOUNG_GCS:-20} )); do load "$IE" 16 5s; load "$IE" 1 5s; done
load "$HE" 16 5s; load "$HE" 1 5s
echo "== $(date -u +%FT%TZ) warm: $(fewest_young_gcs "$ISE $ISI") young collections in the process with fewest; wrk -t1 -c1 ${SECS}s each"
# wrk's own percentiles, without its summary (the Lua done() hook prints them)
printf 'done = function(s, latency, r)\n  for _, p in ipairs({50, 90, 99, 99.9}) do\n    io.write(string.format("p%%s %%d us  ", p, latency:percentile(p)))\n  end\n  io.write("\\n")\nend\n' > "$WORK/pct.lua"
for target in "isthmus $IE" "haproxy $HE"; do
  read -r name port <<<"$target"
  perf sched record -q -a -o "$OUT/$name.data" -- wrk -s "$WORK/pct.lua" -t1 -c1 -d"${SECS}s" "${HEADERS[@]}" \
    "http://127.0.0.1:$port/" > "$WORK/wrk.txt" 2>&1
  echo "== $name: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") req/s; wrk $(grep '^p50' "$WORK/wrk.txt")"
  perf sched timehist -i "$OUT/$name.data" 2>/dev/null > "$OUT/$name.timehist"
  python3 benchmarks/proxy/stalls.py "$OUT/$name.timehist" "$MIN_MS"
done
