#!/usr/bin/env bash
# Counts per request at concurrency 1 that do not depend on the machine's load: system calls by kind and context
# switches of each gateway process (egress and ingress in two processes, as run.sh's PROCESSES=2), for Isthmus and for
# HAProxy (HTTP/1.1 between gateways, run.sh's `haproxy` row), from `perf stat --per-thread` on the syscall
# tracepoints during one bounded `wrk -t1 -c1` run each, plus the voluntary/involuntary switches of all threads
# (/proc/<pid>/task/*/status) and the user+system CPU per request (this one does depend on load).
#
# Usage: benchmarks/proxy/counts.sh JAR   (PORT_BASE=25000 SECONDS_PER_RUN=10 ROUNDS=1; STRACE=1 instead runs
#        `strace -f -c` on the four processes for one 5 s run each, for the syscalls the list below does not name;
#        ISTHMUS_JAVA_OPTS adds JVM options to both Isthmus processes, e.g. -XX:-DoEscapeAnalysis: the bytes
#        allocated per request then no longer depend on what C2 chose to scalar-replace in that process, so two jars
#        can be compared to a few bytes; with it on, two starts of one jar differed by up to 300 bytes per request)
#   JAR: benchmarks/target/benchmarks.jar of the build to count. Needs: haproxy, wrk, perf (root, or
#   perf_event_paranoid allowing tracepoints), python3, curl; strace for STRACE=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk
JAR=$(realpath "$1") PORT_BASE=${PORT_BASE:-25000} SECS=${SECONDS_PER_RUN:-10}
WORK=$(mktemp -d /tmp/isthmus-proxy-counts.XXXXXX); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
. benchmarks/proxy/backend.sh
bench_pairs "$WORK" "$JAR" "$PORT_BASE"
load() { # port concurrency duration
  wrk -t1 -c"$2" -d"$3" -H "Host: payments.billing.svc.clusterset.local" -H "Authorization: Bearer bench" "http://127.0.0.1:$1/"
}
load "$IE" 16 15s > /dev/null; load "$IE" 1 15s > /dev/null; load "$HE" 1 5s > /dev/null
echo "warm; load $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -n "${STRACE:-}" ]]; then
  for target in "isthmus $IE $ISE $ISI" "haproxy $HE $HAE $HAI"; do
    read -r name port e i <<<"$target"
    timeout -s INT $((6)) strace -f -c -p "$e" -o "$WORK/strace-egress" & s1=$!
    timeout -s INT $((6)) strace -f -c -p "$i" -o "$WORK/strace-ingress" & s2=$!
    sleep 0.5
    echo "## $name: $(load "$port" 1 5s | awk '/requests in/ {print $1}') requests (under strace)"
    wait "$s1" "$s2" || true
    for role in egress ingress; do echo "-- $name $role"; sed -n '3,16p' "$WORK/strace-$role"; done
  done
  exit 0
fi

EV=raw_syscalls:sys_enter,context-switches
for s in epoll_wait epoll_pwait epoll_pwait2 epoll_ctl read readv recvfrom recvmsg write writev sendto sendmsg \
  timerfd_settime futex sched_yield; do EV+=",syscalls:sys_enter_$s"; done
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {i += $2} END {print v, i}'; }
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
# Isthmus's heap allocation per request: JFR's per-thread allocation counters at the start and the end of a
# recording that spans the wrk run.
cat > "$WORK/alloc.jfc" <<'JFC'
<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0">
  <event name="jdk.ThreadAllocationStatistics"><setting name="enabled">true</setting><setting name="period">everyChunk</setting></event>
</configuration>
JFC
measure() { # name port egress-pid ingress-pid
  local a b s3 s4 c3 c4 out n p
  if [[ "$1" == isthmus ]]; then
    for p in "$3" "$4"; do "$JAVA_HOME/bin/jcmd" "$p" JFR.start name=counts settings="$WORK/alloc.jfc" > /dev/null; done
  fi
  timeout -s INT $((SECS + 1)) perf stat --per-thread -x';' -e "$EV" -p "$3" -o "$WORK/$1-egress.perf" & a=$!
  timeout -s INT $((SECS + 1)) perf stat --per-thread -x';' -e "$EV" -p "$4" -o "$WORK/$1-ingress.perf" & b=$!
  sleep 0.3
  s3=$(switches "$3") s4=$(switches "$4") c3=$(cpu "$3") c4=$(cpu "$4")
  out=$(load "$2" 1 "${SECS}s")
  s3="$s3 $(switches "$3")" s4="$s4 $(switches "$4")" c3="$c3 $(cpu "$3")" c4="$c4 $(cpu "$4")"
  wait "$a" "$b" || true
  if [[ "$1" == isthmus ]]; then
    "$JAVA_HOME/bin/jcmd" "$3" JFR.stop name=counts filename="$WORK/egress.jfr" > /dev/null
    "$JAVA_HOME/bin/jcmd" "$4" JFR.stop name=counts filename="$WORK/ingress.jfr" > /dev/null
  fi
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  grep -E 'Non-2xx|Socket errors' <<<"$out" && echo "!! $1: errors, its counts are not a normal request's"
  echo "## $1: $n requests in ${SECS}s, $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s (load $(cut -d' ' -f1 /proc/loadavg)); per request:"
  python3 benchmarks/proxy/counts_agg.py "$n" "$WORK/$1-egress.perf" "$WORK/$1-ingress.perf"
  if [[ "$1" == isthmus ]]; then
    for p in egress ingress; do
      "$JAVA_HOME/bin/jfr" print --json --events jdk.ThreadAllocationStatistics "$WORK/$p.jfr" > "$WORK/$p.json"
    done
    python3 benchmarks/proxy/counts_agg.py --alloc "$n" "$WORK/egress.json" "$WORK/ingress.json"
  fi
  local hz; hz=$(getconf CLK_TCK)
  echo "  context switches voluntary/involuntary (all threads): egress $(awk -v n="$n" '{printf "%.2f/%.2f", ($3-$1)/n, ($4-$2)/n}' <<<"$s3"), ingress $(awk -v n="$n" '{printf "%.2f/%.2f", ($3-$1)/n, ($4-$2)/n}' <<<"$s4")"
  echo "  CPU us user+system: egress $(awk -v n="$n" -v hz="$hz" '{printf "%.0f+%.0f", ($3-$1)*1e6/hz/n, ($4-$2)*1e6/hz/n}' <<<"$c3"), ingress $(awk -v n="$n" -v hz="$hz" '{printf "%.0f+%.0f", ($3-$1)*1e6/hz/n, ($4-$2)*1e6/hz/n}' <<<"$c4")"
}
for _ in $(seq 1 "${ROUNDS:-1}"); do
  measure isthmus "$IE" "$ISE" "$ISI"
  measure haproxy "$HE" "$HAE" "$HAI"
done
