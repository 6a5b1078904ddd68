package io.isthmus.trust.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.jwt.JwtKeyReadiness.Verdict;
import io.isthmus.trust.jwt.JwtKeyReadiness.Why;
import io.isthmus.trust.spiffe.TrustDomain;

/** A JWT key signs only once every federated peer can know it: confirmed by each, or published for a whole window. */
class JwtKeyReadinessTest {
    private static final Instant T0 = Instant.parse("2026-12-05T06:00:00Z");
    private static final Duration WINDOW = Duration.ofSeconds(310);
    private static final TrustDomain BETA = new TrustDomain("beta.test");
    private static final TrustDomain GAMMA = new TrustDomain("gamma.test");
    private static final String KID = "k-new";

    static Stream<Arguments> rows() {
        return Stream.of(
                // name, peers, confirmations, seconds since published, expected (a Why, or the unconfirmed peers)
                Arguments.of("no peers: ready at once", Set.of(), Map.of(), 0, Why.NO_PEERS),
                Arguments.of("every peer confirmed", Set.of(BETA, GAMMA),
                        Map.of(BETA, Set.of(KID, "k-old"), GAMMA, Set.of(KID)), 1, Why.CONFIRMED_BY_EVERY_PEER),
                Arguments.of("one peer still holds only the old key", Set.of(BETA, GAMMA),
                        Map.of(BETA, Set.of(KID), GAMMA, Set.of("k-old")), 1, List.of(GAMMA)),
                Arguments.of("no peer answered yet", Set.of(BETA, GAMMA), Map.of(), 0, List.of(BETA, GAMMA)),
                Arguments.of("one second before the window ends", Set.of(BETA), Map.of(), 309, List.of(BETA)),
                Arguments.of("the window ends: every reachable peer has polled since", Set.of(BETA), Map.of(), 310,
                        Why.PUBLISHED_FOR_A_WHOLE_REFRESH),
                Arguments.of("a confirmation from a peer no longer federated counts for nothing", Set.of(GAMMA),
                        Map.of(BETA, Set.of(KID)), 5, List.of(GAMMA)),
                Arguments.of("a confirmation of another key counts for nothing", Set.of(BETA),
                        Map.of(BETA, Set.of("k-new2")), 5, List.of(BETA)),
                Arguments.of("a peer that joined later is asked too", Set.of(BETA, GAMMA),
                        Map.of(BETA, Set.of(KID)), 0, List.of(GAMMA)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void signsOnlyWithKeysEveryPeerCanKnow(String name, Set<TrustDomain> peers, Map<TrustDomain, Set<String>> confirmed,
            int secondsPublished, Object expected) {
        Verdict v = JwtKeyReadiness.decide(KID, T0, T0.plusSeconds(secondsPublished), WINDOW, peers, confirmed);
        if (expected instanceof Why why) {
            assertThat(v).isEqualTo(new Verdict.Ready(why));
        } else {
            assertThat(v).isInstanceOfSatisfying(Verdict.NotYet.class, n -> {
                assertThat(n.unconfirmed()).isEqualTo(expected);
                assertThat(n.readyBy()).isEqualTo(T0.plus(WINDOW));
                assertThat(n.describe()).contains(KID).contains(((List<?>) expected).get(0).toString());
            });
        }
    }
}
