package io.isthmus.proxy.authz.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;

import io.isthmus.trust.testing.FuzzTarget;

/**
 * Whoever can write a decision log, or the copy handed to the CLI, can write anything. Every line is read into a
 * record or refused with a problem and a message; nothing else escapes, and a record holds only what a gateway
 * could have written (a printable ASCII path, a port in range).
 */
class DecisionLogReaderFuzzTest {

    @FuzzTarget
    void parse(byte[] input) throws IOException {
        String text = new String(input, StandardCharsets.UTF_8);
        long[] seen = {0, 0};
        DecisionLogReader.Stats stats = DecisionLogReader.read(new StringReader(text), "fuzz.jsonl", r -> {
            seen[0]++;
            assertThat(r.port()).isBetween(1, 65535);
            r.path().ifPresent(p -> assertThat(p).startsWith("/").matches("[\\x21-\\x7e]*").doesNotContain("?", "#"));
            assertThat(r.caller().trustDomain()).isNotNull();
            assertThat(r.toAccessRequest().destination()).isEqualTo(r.destination());
        }, refused -> {
            seen[1]++;
            assertThat(refused.message()).isNotBlank();
            assertThat(refused.line()).isPositive();
        });
        assertThat(stats.records()).isEqualTo(seen[0]);
        assertThat(stats.refused()).isEqualTo(seen[1]);
    }
}
