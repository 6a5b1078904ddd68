package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.HourlyPeers;

/**
 * A replica's new JWT key, with real trust runtimes and bundle endpoints on loopback that poll each other only hourly:
 * it may not sign until the peer, hinted at once, confirms it; a key published while the peer is unreachable signs
 * only once the whole window has passed.
 */
class JwtKeyPropagationTest {
    private static final TrustDomain A = HourlyPeers.A;
    private static final TrustDomain B = HourlyPeers.B;

    @TempDir
    Path dataRoot;

    private HourlyPeers peers;
    private JwtKeyPropagation propagation;

    @AfterEach
    void stop() {
        if (propagation != null) {
            propagation.close();
        }
        if (peers != null) {
            peers.close();
        }
    }

    @Test
    void aNewKeySignsOnlyOnceThePeerConfirmedItOrAWholeWindowPassed() throws Exception {
        peers = HourlyPeers.start(dataRoot);
        TrustRuntime a = peers.a();
        TrustRuntime b = peers.b();
        await().atMost(Duration.ofSeconds(15)).until(() -> b.bundleFor(A).isPresent());
        Duration window = Duration.ofSeconds(6);
        propagation = new JwtKeyPropagation(A, a.sync(), Clock.systemUTC(), window);

        JwtSigningKey first = JwtSigningKey.generate();
        a.localBundle().publishJwtAuthorities(List.of(first.authority()));
        propagation.published(List.of(first.keyId()));
        assertThat(propagation.readiness(first.keyId())).as("before b confirmed")
                .isInstanceOfSatisfying(JwtKeyReadiness.Verdict.NotYet.class,
                        n -> assertThat(n.unconfirmed()).containsExactly(B));
        await("b confirms the key a hinted").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(() -> propagation.readiness(first.keyId()),
                        v -> v.equals(new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.CONFIRMED_BY_EVERY_PEER)));
        assertThat(b.bundleFor(A).orElseThrow().jwtAuthorities()).extracting(k -> k.keyId())
                .containsExactly(first.keyId());
        assertThat(propagation.readiness("a-kid-never-published")).isInstanceOf(JwtKeyReadiness.Verdict.NotYet.class);

        // b goes away: a second key cannot be confirmed and waits out the window.
        peers.stopB();
        JwtSigningKey second = JwtSigningKey.generate();
        long published = System.nanoTime();
        a.localBundle().publishJwtAuthorities(List.of(first.authority(), second.authority()));
        propagation.published(List.of(first.keyId(), second.keyId()));
        assertThat(propagation.readiness(first.keyId())).as("the confirmed key signs on")
                .isEqualTo(new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.CONFIRMED_BY_EVERY_PEER));
        await("the unconfirmed key after the window").atMost(window.plusSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> propagation.readiness(second.keyId()), v -> v instanceof JwtKeyReadiness.Verdict.Ready);
        assertThat(Duration.ofNanos(System.nanoTime() - published)).as("not before the window")
                .isGreaterThanOrEqualTo(window);
        assertThat(propagation.readiness(second.keyId()))
                .isEqualTo(new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.PUBLISHED_FOR_A_WHOLE_REFRESH));
    }
}
