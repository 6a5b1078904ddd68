#!/usr/bin/env bash
# A/B of two builds of the gateway's data path on a shared machine: both bench servers (ProxyBenchServer from jar A
# and from jar B) run side by side against one HAProxy backend answering "ok"; after a common warm-up, 10 s wrk runs
# alternate between them (each concurrency of CONCURRENCY in turn, the order of A and B swapped every round), so both
# see the same load. Prints req/s, p99 and the CPU each server process spent per request (only the ratios within one
# run mean anything here).
#
# Usage: benchmarks/proxy/ab.sh A.jar B.jar   (PORT_BASE=25000 ROUNDS=3 DURATION=10s WARMUP_ROUNDS=6
#        CONCURRENCY="64 16"; CONCURRENCY="64 16 1" adds c=1 (wrk -t1 there: one connection needs one thread);
#        JAVA_OPTS_A / JAVA_OPTS_B add JVM options to one side, e.g. the same jar twice with a different collector;
#        with c=1, B is restarted up to MATCH_TRIES=4 times until its c=1 calls stay on one loop or cross as A's do)
#   Build a jar with ./mvnw -pl benchmarks -am package -DskipTests and copy benchmarks/target/benchmarks.jar aside.
# Needs: haproxy, wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk
A=$1 B=$2
PORT_BASE=${PORT_BASE:-25000} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} WARMUP_ROUNDS=${WARMUP_ROUNDS:-6}
CONCURRENCY=${CONCURRENCY:-"64 16"}
BACKEND=$((PORT_BASE + 2080))
WORK=$(mktemp -d /tmp/isthmus-proxy-ab.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. benchmarks/proxy/backend.sh
ok_backend "$WORK" "$BACKEND"; PIDS+=($!)
start() { # label jar egress-port ingress-port extra-jvm-options
  # shellcheck disable=SC2086 # the extra options are words
  packaging/src/main/sh/with-jvm-cache - "$JAVA_HOME/bin/java" -Xms256m -Xmx256m $5 --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
    -Dio.netty.leakDetection.level=disabled -cp "$2" io.isthmus.bench.proxy.ProxyBenchServer "$WORK/pki-$1" "$3" "$4" \
    "$BACKEND" 2 "$BACKEND" "$BACKEND" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
start A "$A" $((PORT_BASE + 1)) $((PORT_BASE + 443)) "${JAVA_OPTS_A:-}"; PID_A=${PIDS[-1]}
start B "$B" $((PORT_BASE + 101)) $((PORT_BASE + 543)) "${JAVA_OPTS_B:-}"; PID_B=${PIDS[-1]}
for _ in $(seq 1 200); do grep -q READY "$WORK/A.log" && grep -q READY "$WORK/B.log" && break; sleep 0.3; done
grep -q READY "$WORK/A.log" && grep -q READY "$WORK/B.log" || { cat "$WORK"/*.log; exit 1; }
load() { # wrk against port $1 at concurrency $2 for $3
  wrk -t"$(( $2 > 1 ? 2 : 1 ))" -c"$2" -d"$3" --latency -H "Host: payments.billing.svc.clusterset.local" -H "Authorization: Bearer bench" \
  "http://127.0.0.1:$1/"; }
for _ in $(seq 1 "$WARMUP_ROUNDS"); do
  load $((PORT_BASE + 1)) 64 5s > /dev/null; load $((PORT_BASE + 101)) 64 5s > /dev/null
done
echo "warm; load $(cut -d' ' -f1-3 /proc/loadavg)"
io_ticks() { # pid: the CPU ticks of each of its I/O event-loop threads, one line each, the same order every time
  local t
  for t in /proc/"$1"/task/*; do
    if [[ $(cat "$t/comm" 2>/dev/null) == *-io-* ]]; then awk '{print $14+$15}' "$t/stat"; fi
  done
}
placement() { # pid port: "one-loop" or "crossing", from a 3 s c=1 window
  local before after
  before=$(io_ticks "$1"); load "$2" 1 3s > /dev/null; after=$(io_ticks "$1")
  paste <(echo "$before") <(echo "$after") | awk '{ d = $2 - $1; s += d; if (d > m) m = d }
    END { print (s && m / s > 0.8) ? "one-loop" : "crossing" }'
}
# At c=1 the placement outweighs most changes (section 4 of results-2026-12-07.txt): B is restarted (a new start is a
# new draw) until it matches A's, at most MATCH_TRIES times.
if [[ " $CONCURRENCY " == *" 1 "* ]]; then
  PLACE_A=$(placement "$PID_A" $((PORT_BASE + 1))); PLACE_B=$(placement "$PID_B" $((PORT_BASE + 101)))
  for _ in $(seq 1 "${MATCH_TRIES:-4}"); do
    [[ "$PLACE_A" == "$PLACE_B" ]] && break
    kill "$PID_B"; wait "$PID_B" 2>/dev/null || true
    start B "$B" $((PORT_BASE + 101)) $((PORT_BASE + 543)) "${JAVA_OPTS_B:-}"; PID_B=${PIDS[-1]}
    for _ in $(seq 1 200); do grep -q READY "$WORK/B.log" && break; sleep 0.3; done
    for _ in $(seq 1 "$WARMUP_ROUNDS"); do load $((PORT_BASE + 101)) 64 5s > /dev/null; done
    PLACE_B=$(placement "$PID_B" $((PORT_BASE + 101)))
  done
  echo "c=1 placement: A $PLACE_A, B $PLACE_B$([[ "$PLACE_A" == "$PLACE_B" ]] || echo ' (they differ: c=1 is not comparable)')"
fi
run() { # label pid port concurrency
  local t0 t1 out n io0 io1
  io0=$(io_ticks "$2")
  t0=$(awk '{print $14+$15}' "/proc/$2/stat"); out=$(load "$3" "$4" "$DURATION"); t1=$(awk '{print $14+$15}' "/proc/$2/stat")
  io1=$(io_ticks "$2")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  # "io 98/2": how the window's work split between the event loops. At c=1 the one caller's request crosses from one
  # loop to the other (egress on one, ingress on the other: about 50/50) or stays on one (100/0), whichever way the
  # ingress placed the egress's pooled HTTP/2 connections at start-up (results-2026-12-06.txt section 6: one loop did
  # +40% req/s at c=1). Compare c=1 windows of A and B only when their splits agree (the placement line above).
  printf "%s c=%-3s %10s req/s  p99 %-9s cpu/req %4s us  io %-7s load %s %s\n" "$1" "$4" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')" \
    "$(paste <(echo "$io0") <(echo "$io1") | awk '{ d[NR] = $2 - $1; s += d[NR] }
      END { for (i = 1; i <= NR; i++) printf "%s%.0f", (i > 1 ? "/" : ""), (s ? 100 * d[i] / s : 0) }')" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
}
for round in $(seq 1 "$ROUNDS"); do
  for c in $CONCURRENCY; do
    if (( round % 2 )); then
      run A "$PID_A" $((PORT_BASE + 1)) "$c"; run B "$PID_B" $((PORT_BASE + 101)) "$c"
    else
      run B "$PID_B" $((PORT_BASE + 101)) "$c"; run A "$PID_A" $((PORT_BASE + 1)) "$c"
    fi
  done
done
