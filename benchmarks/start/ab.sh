#!/usr/bin/env bash
# A/B start-up: two builds of the gateway (quarkus-app directories, e.g. a copy of main's and this branch's), one
# start of each in turn, N rounds (a lone gateway, process start to /q/health/ready UP, the harness's JVM without a
# start-up cache: variant "after" of StartTimes); prints every start, the median per side and the load average.
#   benchmarks/start/ab.sh A_APP_DIR B_APP_DIR [rounds=5] [base-port=21000] [dir=benchmarks/start/target-ab]
set -euo pipefail
cd "$(dirname "$0")/../.."
a="$1"; b="$2"; rounds="${3:-5}"; port="${4:-21000}"; dir="${5:-benchmarks/start/target-ab}"
. bin/lib/java.sh
isthmus_select_jdk
. bin/lib/build.sh
isthmus_build_launcher
cp="integration/target/classes:$(cat integration/target/launcher.classpath)"
one() {
  "$JAVA_HOME/bin/java" $(isthmus_quiet_jvm_flags) -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$cp" \
    io.isthmus.integration.federation.StartTimes --app "$1/quarkus-run.jar" --dir "$dir" --base-port "$port" \
    --variants after --runs 1 | sed -n 's/^after *| *\([0-9]*\) .*/\1/p'
}
echo "load before: $(cat /proc/loadavg)"
A=(); B=()
for i in $(seq 1 "$rounds"); do
  ta=$(one "$a"); A+=("$ta"); echo "round $i: A $ta ms"
  tb=$(one "$b"); B+=("$tb"); echo "round $i: B $tb ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "A $a: median $(median "${A[@]}") ms of [${A[*]}]"
echo "B $b: median $(median "${B[@]}") ms of [${B[*]}]"
echo "load after: $(cat /proc/loadavg)"
