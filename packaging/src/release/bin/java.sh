# Sourced by the release's bin/ scripts: sets JAVA to a Java >= 21 (JAVA_HOME if set, else java on PATH) or exits
# with what was found and what to do.
isthmus_java() {
  local java major
  if [ -n "${JAVA_HOME:-}" ]; then java="$JAVA_HOME/bin/java"; else java="$(command -v java || true)"; fi
  if [ -z "$java" ] || [ ! -x "$java" ]; then
    echo "error: no Java found (JAVA_HOME unset and no java on PATH); Isthmus needs Java 21 or newer" >&2
    exit 1
  fi
  major=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ -z "$major" ] || [ "$major" -lt 21 ]; then
    echo "error: $java is Java ${major:-unknown}; Isthmus needs Java 21 or newer: set JAVA_HOME to one" >&2
    exit 1
  fi
  JAVA="$java"
}
