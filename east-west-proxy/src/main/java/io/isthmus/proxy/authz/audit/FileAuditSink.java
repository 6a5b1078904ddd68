package io.isthmus.proxy.authz.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

import org.jboss.logging.Logger;

/**
 * Appends JSON lines to a file (created with its directories) and rotates it by size and age: before a line is
 * written, a file that has reached {@link Rotation#maxBytes()} or is older than {@link Rotation#maxAge()} is
 * renamed to {@code <file>.<UTC time>} ({@link DecisionLogFormat#rotatedName}) and a new one begun; only the
 * newest {@link Rotation#maxFiles()} rotated files are kept. A file's age counts from its creation, so a restart
 * does not reset it; a file nothing is written to is not rotated. With {@link Rotation#NONE} rotation is left to
 * logrotate ({@code copytruncate}). Used only by the audit log's writer thread.
 */
public final class FileAuditSink implements AuditSink {
    private static final Logger LOG = Logger.getLogger(FileAuditSink.class);

    /** When to rotate and how many rotated files to keep. */
    public record Rotation(long maxBytes, Duration maxAge, int maxFiles) {
        /** Never rotate (an external tool does). */
        public static final Rotation NONE = new Rotation(Long.MAX_VALUE, Duration.ofSeconds(Long.MAX_VALUE), 1);

        public Rotation {
            Objects.requireNonNull(maxAge, "maxAge");
            if (maxBytes < 1) {
                throw new IllegalArgumentException("audit log max size must be positive, got " + maxBytes);
            }
            if (maxAge.isNegative() || maxAge.isZero()) {
                throw new IllegalArgumentException("audit log max age must be positive, got " + maxAge);
            }
            if (maxFiles < 1) {
                throw new IllegalArgumentException("audit log must keep at least 1 rotated file, got " + maxFiles);
            }
        }
    }

    private final Path file;
    private final Rotation rotation;
    private final Clock clock;
    private BufferedWriter out;
    private long size;
    private Instant created;

    public FileAuditSink(Path file) throws IOException {
        this(file, Rotation.NONE, Clock.systemUTC());
    }

    public FileAuditSink(Path file, Rotation rotation, Clock clock) throws IOException {
        this.file = file;
        this.rotation = Objects.requireNonNull(rotation, "rotation");
        this.clock = Objects.requireNonNull(clock, "clock");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        open();
    }

    private void open() throws IOException {
        OutputStream raw = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
        size = attrs.size();
        // An empty file was (re)made now, whatever the file system reports for a name it reuses.
        created = size == 0 ? clock.instant() : attrs.creationTime().toInstant();
        out = new BufferedWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8), 1 << 16);
    }

    public Path file() {
        return file;
    }

    @Override
    public void write(List<String> lines) throws IOException {
        boolean old = Duration.between(created, clock.instant()).compareTo(rotation.maxAge()) >= 0;
        for (String line : lines) {
            if (size > 0 && (old || size >= rotation.maxBytes())) {
                rotate();
                old = false;
            }
            out.write(line);
            out.write('\n');
            size += utf8Length(line) + 1;
        }
    }

    private static long utf8Length(String s) {
        long n = s.length();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // Two bytes up to U+07FF, three above; a surrogate pair is four, two per half.
                n += c < 0x800 || Character.isSurrogate(c) ? 1 : 2;
            }
        }
        return n;
    }

    private void rotate() throws IOException {
        out.close();
        Instant now = clock.instant();
        String base = DecisionLogFormat.rotatedName(file.getFileName().toString(), now);
        Path target = file.resolveSibling(base);
        for (int i = 1; Files.exists(target); i++) {
            target = file.resolveSibling(base + "-" + i);
        }
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        open();
        prune();
    }

    /** Deletes the oldest rotated files beyond {@link Rotation#maxFiles()}; a failure is logged, not fatal. */
    private void prune() {
        String name = file.getFileName().toString();
        try (Stream<Path> siblings = Files.list(file.toAbsolutePath().getParent())) {
            List<Path> rotated = siblings.filter(p -> DecisionLogFormat.isRotatedOf(name, p.getFileName().toString()))
                    .sorted().toList();
            for (Path old : rotated.subList(0, Math.max(0, rotated.size() - rotation.maxFiles()))) {
                Files.deleteIfExists(old);
            }
        } catch (IOException e) {
            LOG.warnf("audit log %s: could not remove old rotated files: %s", file, e.toString());
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
