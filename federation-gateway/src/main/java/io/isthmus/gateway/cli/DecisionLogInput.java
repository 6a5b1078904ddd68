package io.isthmus.gateway.cli;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import picocli.CommandLine.Option;

import io.isthmus.proxy.authz.audit.DecisionLogFormat;
import io.isthmus.proxy.authz.audit.DecisionLogReader;
import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.LogLineProblem;
import io.isthmus.proxy.authz.audit.RecordSelection;

/**
 * The decision logs {@code isthmus authz suggest} and {@code simulate} read: each {@code --log} file with its
 * rotated files ({@code <file>.<UTC time>}, oldest first), several clusters' logs merged. Lines that are refused
 * are reported on stderr (the first {@value #SHOWN} in full, then counts by problem) and the rest is read.
 */
final class DecisionLogInput {
    static final int SHOWN = 20;

    @Option(names = "--log", required = true, paramLabel = "FILE",
            description = {"A gateway's decision log (isthmus.authz.audit-log.path); repeat it to merge several "
                    + "clusters' logs. Its rotated files (FILE.<time>) are read too."})
    List<Path> logs;

    @Option(names = "--since", paramLabel = "DURATION",
            description = "Only requests logged within this long before now, e.g. 24h (default: everything).")
    Duration since;

    @Option(names = "--namespace", paramLabel = "NS", description = "Only destination services of this namespace.")
    String namespace;

    /** The records asked for, {@code --since} counted back from now. */
    RecordSelection selection(Clock clock) {
        return new RecordSelection(Optional.ofNullable(since).map(d -> clock.instant().minus(d)),
                Optional.ofNullable(namespace));
    }

    /** Reads every line of every log into {@code records}; refusals go to {@code err}. Returns the refused count. */
    long read(Optional<Instant> notBefore, Consumer<DecisionRecord> records, PrintWriter err) throws IOException {
        Map<LogLineProblem, Long> problems = new EnumMap<>(LogLineProblem.class);
        long[] shown = {0};
        for (Path log : logs) {
            for (Path file : files(log, notBefore)) {
                try (Reader in = reader(file)) {
                    DecisionLogReader.read(in, file.toString(), records, refused -> {
                        problems.merge(refused.problem(), 1L, Long::sum);
                        if (shown[0]++ < SHOWN) {
                            err.println("isthmus: skipped " + refused + "; the other lines are read");
                        }
                    });
                }
            }
        }
        long refused = problems.values().stream().mapToLong(Long::longValue).sum();
        if (refused > 0) {
            err.println("isthmus: " + refused + " log line(s) refused: " + problems.entrySet().stream()
                    .map(e -> e.getKey().code() + " " + e.getValue()).collect(Collectors.joining(", ")));
        }
        return refused;
    }

    /**
     * {@code log}'s rotated files, oldest first, then {@code log} itself (when it exists: a log that was just rotated
     * may not). Rotated files last written before {@code notBefore} hold nothing newer and are not opened.
     */
    static List<Path> files(Path log, Optional<Instant> notBefore) throws IOException {
        Path dir = log.toAbsolutePath().getParent();
        String name = log.getFileName().toString();
        List<Path> out = new ArrayList<>();
        if (dir != null && Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(p -> DecisionLogFormat.isRotatedOf(name, p.getFileName().toString()))
                        .sorted().toList()) {
                    if (notBefore.isEmpty()
                            || !Files.getLastModifiedTime(p).toInstant().isBefore(notBefore.get())) {
                        out.add(p);
                    }
                }
            }
        }
        if (Files.exists(log)) {
            out.add(log);
        } else if (out.isEmpty()) {
            throw new NoSuchFileException(log + " (no decision log there; see isthmus.authz.audit-log.path)");
        }
        return out;
    }

    /** UTF-8, with malformed bytes replaced: a line they corrupt is then refused by the reader, not the whole file. */
    private static Reader reader(Path file) throws IOException {
        return new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE));
    }
}
