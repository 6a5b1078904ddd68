package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import io.isthmus.trust.testing.FuzzTarget;

/**
 * Join tokens and VM identities are JSON strings in replicated caches, persisted per replica: another replica, an
 * older version or a damaged file can hand back anything. Reading an entry either refuses it as corrupt
 * ({@link CorruptEntryException}, which callers treat as the store being unavailable) or yields a value that writes
 * back to an entry reading the same.
 */
class EnrolmentJsonFuzzTest {

    @FuzzTarget
    void read(byte[] input) {
        String json = new String(input, StandardCharsets.UTF_8);
        try {
            JoinToken token = EnrolmentJson.readToken(json);
            assertThat(EnrolmentJson.readToken(EnrolmentJson.write(token))).isEqualTo(token);
        } catch (CorruptEntryException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
        try {
            VmIdentity identity = EnrolmentJson.readIdentity(json);
            assertThat(EnrolmentJson.readIdentity(EnrolmentJson.write(identity))).isEqualTo(identity);
        } catch (CorruptEntryException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
    }
}
