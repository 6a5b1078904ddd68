package io.isthmus.trust.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FuzzTarget;

/**
 * A peer's bundle endpoint (or a file) can send any bytes. Parsing either refuses the whole document with a
 * {@link BundleFormatException} or yields a bundle that this codec writes and reads back to the same keys,
 * sequence and refresh hint.
 */
class BundleCodecFuzzTest {
    private static final TrustDomain TD = new TrustDomain("example.org");
    private static final BundleCodec CODEC = new BundleCodec();

    @FuzzTarget
    void parse(byte[] input) {
        ParsedBundle parsed;
        try {
            parsed = CODEC.parse(TD, input, "fuzz");
        } catch (BundleFormatException e) {
            assertThat(e.error()).isNotNull();
            return;
        }
        TrustBundle bundle = parsed.bundle();
        TrustBundle again = CODEC.parse(TD, CODEC.toJson(bundle).getBytes(StandardCharsets.UTF_8), "round trip").bundle();
        assertThat(again.sameKeysAs(bundle)).isTrue();
        assertThat(again.sequence()).isEqualTo(bundle.sequence());
        assertThat(again.refreshHint()).isEqualTo(bundle.refreshHint());
    }
}
