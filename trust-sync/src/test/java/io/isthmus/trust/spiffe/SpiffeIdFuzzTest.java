package io.isthmus.trust.spiffe;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import io.isthmus.trust.testing.FuzzTarget;

/**
 * SPIFFE IDs and trust domain names arrive in certificates, bundles, policies and API calls. Whatever the text,
 * parsing either names a broken rule ({@link InvalidSpiffeIdException}) or yields an ID that an independent
 * reading of SPIFFE-ID.md accepts and that prints back as the input.
 */
class SpiffeIdFuzzTest {
    /** SPIFFE-ID.md 2.1 and 2.2, written independently of the parser: trust domain, then non-empty segments. */
    private static final Pattern SPEC = Pattern.compile("spiffe://[a-z0-9._-]+(/[a-zA-Z0-9._-]+)*");
    private static final Pattern DOT_SEGMENT = Pattern.compile(".*/\\.{1,2}(/.*)?");

    @FuzzTarget
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            SpiffeId id = SpiffeId.parse(text);
            assertThat(id.toString()).isEqualTo(text);
            assertThat(SPEC.matcher(text).matches()).as("spec syntax of %s", text).isTrue();
            assertThat(DOT_SEGMENT.matcher(id.path()).matches()).as("dot segment in %s", text).isFalse();
            assertThat(text.length()).isLessThanOrEqualTo(2048);
            assertThat(id.trustDomain().name().length()).isLessThanOrEqualTo(255);
            assertThat(SpiffeId.parse(id.toString())).isEqualTo(id);
            assertThat(SpiffeId.tryParse(text)).contains(id);
            assertThat(parsesAsWorkload(text)).isEqualTo(!id.path().isEmpty());
        } catch (InvalidSpiffeIdException e) {
            assertThat(e.error()).isNotNull();
            assertThat(SpiffeId.tryParse(text)).isEmpty();
        }
        try {
            TrustDomain td = TrustDomain.parse(text);
            assertThat(td.id().toString()).isEqualTo(SpiffeIds.PREFIX + td.name());
            assertThat(TrustDomain.parse(td.id().toString())).isEqualTo(td);
        } catch (InvalidSpiffeIdException e) {
            assertThat(e.error()).isNotNull();
        }
    }

    private static boolean parsesAsWorkload(String text) {
        try {
            SpiffeId.parseWorkload(text);
            return true;
        } catch (InvalidSpiffeIdException e) {
            return false;
        }
    }
}
