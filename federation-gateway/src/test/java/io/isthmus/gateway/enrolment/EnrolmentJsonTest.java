package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Entries as this class writes them read back equal; anything else is a {@link CorruptEntryException}. The rows are
 * the crashes EnrolmentJsonFuzzTest found (InvalidSpiffeIdException, DateTimeParseException and the records'
 * IllegalArgumentException escaped before) and their neighbours.
 */
class EnrolmentJsonTest {
    private static final String HASH = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
    private static final String TOKEN = "{\"id\":\"AAECAwQFBgcICQoLDA0ODw\",\"identity\":\"spiffe://td.example/ns/shop/sa/vm\","
            + "\"secretHash\":\"" + HASH + "\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"expiresAt\":\"2026-01-01T00:15:00Z\","
            + "\"maxUses\":1,\"uses\":0,\"revoked\":false}";

    @Test
    void writtenEntriesReadBackEqual() {
        JoinToken token = EnrolmentJson.readToken(TOKEN);
        assertThat(EnrolmentJson.readToken(EnrolmentJson.write(token))).isEqualTo(token);
        VmIdentity revoked = new VmIdentity(SpiffeId.parse("spiffe://td.example/ns/shop/sa/vm"), VmIdentity.State.REVOKED,
                Optional.of(Instant.parse("2026-01-01T00:00:00Z")), Optional.of(Instant.parse("2026-01-02T00:00:00Z")),
                Optional.of("compromised"));
        assertThat(EnrolmentJson.readIdentity(EnrolmentJson.write(revoked))).isEqualTo(revoked);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "null", "[]", "42", "{", "{}",
        "{\"id\":\"AAECAwQFBgcICQoLDA0ODw\",\"identity\":\"\"}",
        "{\"id\":\"x\",\"identity\":\"spiffe://TD/ns\",\"secretHash\":\"zz\",\"createdAt\":\"yesterday\",\"expiresAt\":null,"
                + "\"maxUses\":\"1\",\"uses\":-1}",
        "{\"id\":\"AAECAwQFBgcICQoLDA0ODw\",\"identity\":\"spiffe://td.example/ns/shop/sa/vm\",\"secretHash\":\"" + HASH
                + "\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"expiresAt\":\"2026-13-01T00:15:00Z\",\"maxUses\":1,\"uses\":0,"
                + "\"revoked\":false}",
        "{\"id\":\"AAECAwQFBgcICQoLDA0ODw\",\"identity\":\"spiffe://td.example/ns/shop/sa/vm\",\"secretHash\":\"" + HASH
                + "\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"expiresAt\":\"2026-01-01T00:15:00Z\",\"maxUses\":1,\"uses\":2,"
                + "\"revoked\":false}",
        "{\"id\":\"AAECAwQFBgcICQoLDA0ODw\",\"identity\":\"spiffe://td.example/ns/shop/sa/vm\",\"secretHash\":\"" + HASH
                + "\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"expiresAt\":\"2026-01-01T00:15:00Z\",\"maxUses\":1e10,\"uses\":0,"
                + "\"revoked\":\"no\"}",
    })
    void corruptTokensAreRefusedAsCorrupt(String json) {
        assertThatThrownBy(() -> EnrolmentJson.readToken(json)).isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining("corrupt");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "null", "{}", TOKEN,
        "{\"id\":\"spiffe://td.example\",\"state\":\"GONE\",\"revokedAt\":42}",
        "{\"id\":\"spiffe://td.example/ns/a/sa/b\",\"state\":\"REVOKED\"}",
        "{\"id\":\"spiffe://td.example/ns/a/sa/b\",\"state\":\"ACTIVE\",\"enrolledAt\":\"not a time\"}",
        "{\"id\":\"spiffe://td.example/ns/a/sa/b\",\"state\":\"ACTIVE\",\"revokeReason\":{}}",
    })
    void corruptIdentitiesAreRefusedAsCorrupt(String json) {
        assertThatThrownBy(() -> EnrolmentJson.readIdentity(json)).isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining("corrupt");
    }
}
