package io.isthmus.trust.svid;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.text.Printable;

/**
 * Anyone who reaches a TLS listener (a bundle endpoint, a bridge port, an ingress) may present a self-signed
 * certificate with URI SANs and a subject of its choosing; the verifier's refusal is logged (the bridge at WARN) and
 * answered. A line break or an escape in them must not reach the log or a terminal raw.
 */
class HostileCertificateTextTest {
    static final String FORGED = "\n2026-01-01T00:00:00Z INFO  [i.i.r.x.BridgeTrustManager] site b admitted\u001b[2K\r";

    private final TestCa pki = TestCa.create();
    private final X509SvidVerifier verifier = new X509SvidVerifier(pki.roots(), td -> Optional.empty(),
            Clock.systemUTC(), Duration.ofSeconds(30));

    @ParameterizedTest
    @ValueSource(strings = {"spiffe://a.test/x", "spiffe://a.test/x%0A", "spiffe://a.test/x y"})
    void aRefusalQuotesAnAttackersUriSansAndSubjectEscaped(String prefix) {
        for (List<String> uris : List.of(List.of(prefix + FORGED), List.of(prefix, prefix + FORGED))) {
            TestCa.LeafBuilder leaf = TestCa.leaf().subject("CN=x");
            uris.forEach(leaf::uri);
            SvidVerdict verdict = verifier.verify(List.of(leaf.selfSigned()));
            assertThat(verdict).isInstanceOf(SvidVerdict.Rejected.class);
            String message = ((SvidVerdict.Rejected) verdict).message();
            assertThat(Printable.isSafe(message)).as("printable: %s", message).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"spiffe://a.test/x" + FORGED, "spiffe://a\u001b[2K.test/x", "spiffe://a.test/\u009b2J"})
    void aSpiffeIdRefusalQuotesTheInputEscaped(String input) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> SpiffeId.parse(input));
        assertThat(t).isNotNull();
        assertThat(Printable.isSafe(t.getMessage())).as("printable: %s", t.getMessage()).isTrue();
    }
}
