# Sourced by the scripts in bin/ and by .ci/run. Exports JAVA_HOME pointing at a JDK >= 21, or exits with a
# message saying what was found and what to do. JAVA_HOME, when set, is respected: it is used if it is a JDK
# >= 21 and refused (not silently replaced) otherwise.

isthmus_min_java=21

# Prints the major version of the JDK at $1, or nothing when $1 is not a JDK (java and javac both needed).
isthmus_jdk_major() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.[^"]*\)\{0,1\}".*/\1/p' | head -n 1
}

isthmus_select_jdk() {
  local major candidate best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(isthmus_jdk_major "$JAVA_HOME")
    if [ -z "$major" ]; then
      echo "error: JAVA_HOME=$JAVA_HOME is not a JDK (no bin/java and bin/javac). Isthmus needs JDK ${isthmus_min_java} or newer; unset JAVA_HOME to let it search, or point it at a JDK." >&2
      return 1
    fi
    if [ "$major" -lt "$isthmus_min_java" ]; then
      echo "error: JAVA_HOME=$JAVA_HOME is Java $major; Isthmus needs JDK ${isthmus_min_java} or newer. Unset JAVA_HOME to let it search, or point it at a newer JDK." >&2
      return 1
    fi
    export JAVA_HOME
    return 0
  fi
  local on_path=""
  if command -v javac >/dev/null 2>&1; then
    on_path=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
  fi
  for candidate in $on_path /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/jdk* "$HOME"/.sdkman/candidates/java/*; do
    [ -d "$candidate" ] || continue
    major=$(isthmus_jdk_major "$candidate")
    [ -n "$major" ] || continue
    if [ "$major" -ge "$isthmus_min_java" ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"
      best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    echo "error: no JDK ${isthmus_min_java} or newer found (looked at javac on PATH, /usr/lib/jvm, /opt/java, ~/.sdkman). Install one (e.g. Temurin 21 or 25) or set JAVA_HOME to it." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  return 0
}

# Prints the JVM options that keep the selected JDK ($JAVA_HOME) from printing warnings a user cannot act on. JDK 24+
# warns on the first use of sun.misc.Unsafe's memory-access methods (JEP 471/498), which Netty and JBoss libraries
# still make; "allow" keeps the behaviour the libraries were tested with and only drops the warning (turning Unsafe
# off instead, e.g. -Dio.netty.noUnsafe=true, would slow Netty's buffers). JDK 21-23 need nothing (and 21 rejects
# the option).
isthmus_quiet_jvm_flags() {
  local major
  major=$(isthmus_jdk_major "$JAVA_HOME")
  if [ -n "$major" ] && [ "$major" -ge 24 ]; then
    echo "--sun-misc-unsafe-memory-access=allow"
  fi
}
