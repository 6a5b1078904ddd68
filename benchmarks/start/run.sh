#!/usr/bin/env bash
# Start-up benchmark: a lone gateway, process start to /q/health/ready UP, median of 5 starts per variant
# (before: the old 2 s discovery wait, no JVM cache; after: current defaults; after+cache: with the JVM's AOT cache
# on JDK 25, AppCDS on 19-24; packaged: as the Debian unit starts it, through its launcher with-jvm-cache, the jlink
# runtime and the unit's options, from its AOT cache; packaged-first: a first start after install, which trains it),
# interleaved in one run, with the load average before and after, and each start's SIGTERM-to-exit time (a training
# start writes its cache then).
#   benchmarks/start/run.sh [--runs 5] [--base-port 21000] [--dir benchmarks/start/target] [--variants a,b]
# The packaged variants need the packaging module built (./mvnw -pl packaging -am package -DskipTests).
# Uses the JDK bin/lib/java.sh selects (JAVA_HOME when it is >= 21); builds the gateway and launcher when stale.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java.sh
isthmus_select_jdk
. bin/lib/build.sh
isthmus_build_launcher
exec "$JAVA_HOME/bin/java" $(isthmus_quiet_jvm_flags) -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -cp "integration/target/classes:$(cat integration/target/launcher.classpath)" \
  io.isthmus.integration.federation.StartTimes "$@"
