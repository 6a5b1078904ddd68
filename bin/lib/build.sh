# Sourced. isthmus_build_app: packages the gateway (tests skipped) when its jar is missing or older than any
# source, POM or script it is built from, so a fresh clone and an edited tree both get an up-to-date jar.
isthmus_app_dir="federation-gateway/target/quarkus-app"

isthmus_build_app() {
  local jar="$isthmus_app_dir/quarkus-run.jar"
  if [ -f "$jar" ] && [ -z "$(find pom.xml */pom.xml */src -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  echo "building the gateway (first run downloads Maven and dependencies; a few minutes)..." >&2
  ./mvnw -B -q --no-transfer-progress -DskipTests -Dmaven.test.skip.exec=true -pl federation-gateway -am package >&2
}
