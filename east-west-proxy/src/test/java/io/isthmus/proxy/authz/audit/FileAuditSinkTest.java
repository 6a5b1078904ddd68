package io.isthmus.proxy.authz.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.testing.MutableClock;

/** The decision log file rotates by size and by age, keeps the newest rotated files, and loses no line doing it. */
class FileAuditSinkTest {
    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));

    @Test
    void rotatesBySizeAndKeepsTheNewestFiles() throws IOException {
        Path file = dir.resolve("audit.jsonl");
        try (FileAuditSink sink = new FileAuditSink(file, new FileAuditSink.Rotation(100, Duration.ofDays(1), 2),
                clock)) {
            for (int i = 0; i < 10; i++) {
                sink.write(List.of("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(40) + "\"}"));
                clock.advance(Duration.ofSeconds(1));
            }
        }
        List<Path> rotated = rotated("audit.jsonl");
        assertThat(rotated).as("only the newest 2 rotated files are kept").hasSize(2);
        assertThat(rotated.get(0).getFileName().toString()).matches("audit\\.jsonl\\.20261123T1000\\d\\d\\.000Z");
        // Lines are 59 bytes: a file takes two before it reaches 100 bytes.
        assertThat(Files.readAllLines(file)).hasSize(2).first().asString().startsWith("{\"n\":8,");
        for (Path p : rotated) {
            assertThat(Files.readAllLines(p)).hasSize(2);
        }
        assertThat(Files.readAllLines(rotated.get(1)).get(0)).startsWith("{\"n\":6,");
    }

    /** One batch of the writer can hold 512 lines: the size bound holds inside it, counted in UTF-8 bytes. */
    @Test
    void rotatesInsideABatchCountingBytesNotCharacters() throws IOException {
        Path file = dir.resolve("audit.jsonl");
        String line = "\u00e9".repeat(30); // 60 bytes, 30 characters
        try (FileAuditSink sink = new FileAuditSink(file, new FileAuditSink.Rotation(100, Duration.ofDays(1), 10),
                clock)) {
            sink.write(List.of(line, line, line, line, line, line));
        }
        List<Path> rotated = rotated("audit.jsonl");
        assertThat(rotated).hasSize(2);
        assertThat(rotated.get(1).getFileName().toString()).endsWith("Z-1");
        for (Path p : List.of(rotated.get(0), rotated.get(1), file)) {
            assertThat(Files.readAllLines(p)).containsExactly(line, line);
        }
    }

    @Test
    void rotatesByAgeCountedFromCreationEvenAcrossARestart() throws IOException {
        // A restarted sink takes the file's creation time from the file system: the clock starts at real time.
        MutableClock clock = new MutableClock(Instant.now());
        Path file = dir.resolve("audit.jsonl");
        FileAuditSink.Rotation daily = new FileAuditSink.Rotation(1 << 20, Duration.ofHours(24), 7);
        try (FileAuditSink sink = new FileAuditSink(file, daily, clock)) {
            sink.write(List.of("{\"day\":1}"));
        }
        clock.advance(Duration.ofHours(23));
        try (FileAuditSink sink = new FileAuditSink(file, daily, clock)) {
            sink.write(List.of("{\"day\":1.9}"));
            assertThat(rotated("audit.jsonl")).isEmpty();
            clock.advance(Duration.ofHours(2));
            sink.write(List.of("{\"day\":2}"));
        }
        assertThat(rotated("audit.jsonl")).hasSize(1);
        assertThat(Files.readAllLines(rotated("audit.jsonl").get(0))).containsExactly("{\"day\":1}", "{\"day\":1.9}");
        assertThat(Files.readAllLines(file)).containsExactly("{\"day\":2}");
    }

    @Test
    void withoutRotationTheFileOnlyGrows() throws IOException {
        Path file = dir.resolve("audit.jsonl");
        try (FileAuditSink sink = new FileAuditSink(file)) {
            for (int i = 0; i < 100; i++) {
                sink.write(List.of("x".repeat(1000)));
            }
        }
        assertThat(rotated("audit.jsonl")).isEmpty();
        assertThat(Files.readAllLines(file)).hasSize(100);
    }

    @Test
    void refusesRotationThatKeepsNothing() {
        assertThatThrownBy(() -> new FileAuditSink.Rotation(1, Duration.ofHours(1), 0))
                .hasMessageContaining("at least 1 rotated file, got 0");
        assertThatThrownBy(() -> new FileAuditSink.Rotation(0, Duration.ofHours(1), 1))
                .hasMessageContaining("max size must be positive");
        assertThatThrownBy(() -> new FileAuditSink.Rotation(1, Duration.ZERO, 1))
                .hasMessageContaining("max age must be positive");
    }

    @Test
    void namesRotatedFilesSoTheySortInTimeOrder() {
        assertThat(DecisionLogFormat.rotatedName("audit.jsonl", Instant.parse("2026-01-02T03:04:05.678Z")))
                .isEqualTo("audit.jsonl.20260102T030405.678Z");
        assertThat(DecisionLogFormat.isRotatedOf("audit.jsonl", "audit.jsonl.20260102T030405.678Z")).isTrue();
        assertThat(DecisionLogFormat.isRotatedOf("audit.jsonl", "audit.jsonl.20260102T030405.678Z-1")).isTrue();
        assertThat(DecisionLogFormat.isRotatedOf("audit.jsonl", "audit.jsonl.tmp")).isFalse();
        assertThat(DecisionLogFormat.isRotatedOf("audit.jsonl", "audit.jsonl")).isFalse();
        assertThat(DecisionLogFormat.isRotatedOf("audit.jsonl", "audit.jsonlx.20260102T030405.678Z")).isFalse();
    }

    private List<Path> rotated(String name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> DecisionLogFormat.isRotatedOf(name, p.getFileName().toString())).sorted().toList();
        }
    }
}
