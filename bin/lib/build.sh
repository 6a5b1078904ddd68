# Sourced. isthmus_build_app: packages the gateway (tests skipped) when its jar is missing or older than any
# source, POM or script it is built from, so a fresh clone and an edited tree both get an up-to-date jar.
# isthmus_build_launcher: the same for the gateway plus the local federation launcher (module integration).
isthmus_app_dir="federation-gateway/target/quarkus-app"

isthmus_stale() {
  [ ! -f "$1" ] || [ -n "$(find pom.xml */pom.xml */src -newer "$1" -type f -print -quit 2>/dev/null)" ]
}

isthmus_build_app() {
  isthmus_stale "$isthmus_app_dir/quarkus-run.jar" || return 0
  echo "building the gateway (first run downloads Maven and dependencies; a few minutes)..." >&2
  ./mvnw -B -q --no-transfer-progress -DskipTests -Dmaven.test.skip.exec=true -pl federation-gateway -am package >&2
}

isthmus_build_launcher() {
  isthmus_stale integration/target/launcher.classpath || { isthmus_stale "$isthmus_app_dir/quarkus-run.jar" || return 0; }
  echo "building the gateway and the launcher (first run downloads Maven and dependencies; a few minutes)..." >&2
  ./mvnw -B -q --no-transfer-progress -DskipTests -Dmaven.test.skip.exec=true -pl integration -am package >&2
  touch integration/target/launcher.classpath
}
