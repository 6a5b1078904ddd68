package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.federation.RefreshHint.Rejection;
import io.isthmus.trust.federation.RefreshHint.Verdict;
import io.isthmus.trust.spiffe.TrustDomain;

/** A refresh hint can cause one rate-limited pull of a configured peer's bundle, and nothing else. */
class RefreshHintTest {
    private static final Instant T0 = Instant.parse("2026-12-05T06:00:00Z");
    private static final Duration GAP = Duration.ofSeconds(1);
    private static final TrustDomain ALPHA = new TrustDomain("alpha.test");
    private static final Set<TrustDomain> PEERS = Set.of(ALPHA, new TrustDomain("gamma.test"));

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("a peer, never hinted", "alpha.test", null, new Verdict.Pull(ALPHA)),
                Arguments.of("a peer as its trust domain ID", "spiffe://alpha.test", null, new Verdict.Pull(ALPHA)),
                Arguments.of("a peer hinted a whole gap ago", "alpha.test", 1000, new Verdict.Pull(ALPHA)),
                Arguments.of("a peer hinted 400 ms ago: throttled", "alpha.test", 400,
                        new Verdict.Throttled(ALPHA, Duration.ofMillis(600))),
                Arguments.of("a peer hinted just now: throttled", "alpha.test", 0, new Verdict.Throttled(ALPHA, GAP)),
                Arguments.of("our own trust domain is no peer", "beta.test", null, Rejection.NOT_A_PEER),
                Arguments.of("an unknown trust domain", "evil.test", null, Rejection.NOT_A_PEER),
                Arguments.of("a look-alike of a peer", "alpha.test.evil", null, Rejection.NOT_A_PEER),
                Arguments.of("missing", null, null, Rejection.MALFORMED_TRUST_DOMAIN),
                Arguments.of("empty", "", null, Rejection.MALFORMED_TRUST_DOMAIN),
                Arguments.of("upper case", "ALPHA.test", null, Rejection.MALFORMED_TRUST_DOMAIN),
                Arguments.of("a URL", "https://alpha.test/", null, Rejection.MALFORMED_TRUST_DOMAIN),
                Arguments.of("a SPIFFE ID with a path", "spiffe://alpha.test/ns/x", null,
                        Rejection.MALFORMED_TRUST_DOMAIN));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void aHintCausesAtMostOneThrottledPullOfAConfiguredPeer(String name, String requested, Integer lastPullMillisAgo,
            Object expected) {
        Optional<Instant> last = Optional.ofNullable(lastPullMillisAgo).map(ms -> T0.minusMillis(ms));
        Verdict v = RefreshHint.decide(requested, PEERS, last, T0, GAP);
        if (expected instanceof Rejection reason) {
            assertThat(v).isInstanceOfSatisfying(Verdict.Refused.class, r -> {
                assertThat(r.reason()).isEqualTo(reason);
                assertThat(r.detail()).contains(requested == null || requested.isEmpty() ? "trust_domain" : requested);
            });
        } else {
            assertThat(v).isEqualTo(expected);
        }
    }
}
