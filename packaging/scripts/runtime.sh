#!/usr/bin/env bash
# The Java runtime that the container image and the Debian packages carry: jlink of the build's own JDK (>= 21),
# cut to the modules the gateway and the agent use. Debian 12 ships no Java 21, so the packages cannot depend on one.
#   runtime.sh JAVA_HOME OUT_DIR
# Reuses OUT_DIR when it was made from the same JDK with the same modules (jlink takes ~20 s on 2 cores).
set -euo pipefail
jdk="$1"
out="$2"
# jdeps over the gateway's and the agent's jars (packaging/README.md says how), plus what they load by name:
# jdk.naming.dns (JGroups DNS_PING looks replicas up through JNDI), jdk.crypto.ec, jdk.zipfs, jdk.net.
# Not jdk.compiler: only annotation processors that ship inside runtime jars reference it. jdk.jcmd (jcmd, jstack, ...):
# the gateway's launcher ends the JVM's AOT training with it (src/main/sh/with-jvm-cache), operators take thread dumps.
modules="java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http"
modules="$modules,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.xml,jdk.crypto.ec"
modules="$modules,jdk.httpserver,jdk.jcmd,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs"
# JDK 24+ warns at the first use of sun.misc.Unsafe's memory access (JEP 471/498), which Netty and the JBoss libraries
# still make; the runtime itself carries "allow" (as bin/lib/java.sh passes it), so the unit, the image, the CLI and
# the agent start quiet without an option that JDK 21 would reject.
options=()
major="$("$jdk/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1)"
if [ "${major:-0}" -ge 24 ]; then
  options=(--add-options=--sun-misc-unsafe-memory-access=allow)
fi
stamp="$("$jdk/bin/java" -version 2>&1 | head -n 1) | $modules | cds ${options[*]:-}"
if [ -f "$out/.isthmus-runtime" ] && [ "$(cat "$out/.isthmus-runtime")" = "$stamp" ]; then
  echo "runtime.sh: $out is up to date ($stamp)"
  exit 0
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
# --generate-cds-archive: the JDK's own classes are mapped from a shared archive at every start (jlink drops the JDK's
# default one), and the gateway unit's dynamic archive (-XX:+AutoCreateSharedArchive) needs it as its base.
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-6 \
  --generate-cds-archive ${options[@]+"${options[@]}"} --output "$out"
printf '%s' "$stamp" > "$out/.isthmus-runtime"
echo "runtime.sh: $out ($(du -sh "$out" | cut -f1)) from $stamp"
