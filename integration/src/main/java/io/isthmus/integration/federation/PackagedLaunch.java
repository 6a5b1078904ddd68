package io.isthmus.integration.federation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's JVM command as the isthmus-gateway package's systemd unit runs it, read from the unit file itself
 * (so a benchmark follows the unit when its flags change), with the installed paths mapped to the build's output:
 * the packaging module's launcher scripts for {@code /usr/lib/isthmus-gateway/bin} (the unit starts the JVM through
 * {@code with-jvm-cache}), its jlink runtime for {@code /usr/lib/isthmus-gateway/jre}, the Quarkus application for
 * {@code /usr/lib/isthmus-gateway/app}, and a work directory for the state directory {@code /var/lib/isthmus} (where
 * the JVM keeps its start-up cache). {@code $JAVA_OPTS} takes the unit's own default.
 *
 * @param jvm the launcher, the java binary and their options, up to (not including) {@code -jar}
 * @param jar the application jar the unit starts, mapped
 * @param state the mapped state directory
 */
public record PackagedLaunch(List<String> jvm, Path jar, Path state) {
    static final String BIN = "/usr/lib/isthmus-gateway/bin";
    static final String JRE = "/usr/lib/isthmus-gateway/jre";
    static final String APP = "/usr/lib/isthmus-gateway/app";
    static final String STATE = "/var/lib/isthmus";
    private static final Pattern JAVA_OPTS = Pattern.compile("(?m)^Environment=JAVA_OPTS=(.*)$");

    public PackagedLaunch {
        jvm = List.copyOf(jvm);
    }

    /**
     * @param unit the unit file ({@code packaging/src/deb/gateway/files/isthmus-gateway.service})
     * @param launchers the packaging module's launcher scripts ({@code packaging/src/main/sh})
     * @param runtime the packaging module's jlink runtime ({@code packaging/target/runtime})
     * @param app the gateway's {@code target/quarkus-app}
     * @param state stands in for {@code /var/lib/isthmus}
     */
    public static PackagedLaunch fromUnit(Path unit, Path launchers, Path runtime, Path app, Path state) throws IOException {
        String text = Files.readString(unit);
        String exec = execStart(text).orElseThrow(() -> new IllegalArgumentException(unit + " has no ExecStart="));
        String javaOpts = match(JAVA_OPTS, text).orElse("");
        List<String> words = new ArrayList<>();
        for (String w : exec.split("\\s+")) {
            if (w.equals("$JAVA_OPTS") || w.equals("${JAVA_OPTS}")) {
                words.addAll(Arrays.stream(javaOpts.split("\\s+")).filter(s -> !s.isEmpty()).toList());
            } else if (!w.isEmpty()) {
                words.add(w.replace(BIN, launchers.toAbsolutePath().toString())
                        .replace(JRE, runtime.toAbsolutePath().toString())
                        .replace(APP, app.toAbsolutePath().toString())
                        .replace(STATE, state.toAbsolutePath().toString()));
            }
        }
        int jar = words.indexOf("-jar");
        if (jar < 1 || jar != words.size() - 2) {
            throw new IllegalArgumentException(unit + ": expected ExecStart=[<launcher> ...] <java> <options> -jar <app>,"
                    + " found: " + exec);
        }
        return new PackagedLaunch(words.subList(0, jar), Path.of(words.get(jar + 1)), state.toAbsolutePath());
    }

    /** The start-up cache files the JVM wrote into the state directory ({@code jvm-*}), to start without them. */
    public List<Path> cacheFiles() throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(state)) {
            return files.filter(f -> f.getFileName().toString().startsWith("jvm-")).toList();
        }
    }

    /** ExecStart= with its backslash continuations joined. */
    private static Optional<String> execStart(String unit) {
        Matcher m = Pattern.compile("(?ms)^ExecStart=(.*?)(?<!\\\\)$").matcher(unit);
        return m.find() ? Optional.of(m.group(1).replaceAll("\\\\\\s*\\n", " ").strip()) : Optional.empty();
    }

    private static Optional<String> match(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? Optional.of(m.group(1).strip()) : Optional.empty();
    }
}
