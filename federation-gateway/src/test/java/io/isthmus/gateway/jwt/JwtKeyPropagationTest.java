package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * A replica's new JWT key, with real trust runtimes and bundle endpoints on loopback that poll each other only hourly:
 * it may not sign until the peer, hinted at once, confirms it; a key published while the peer is unreachable signs
 * only once the whole window has passed.
 */
class JwtKeyPropagationTest {
    private static final Duration HOUR = Duration.ofHours(1);
    private static final TrustDomain A = new TrustDomain("a.acme.internal");
    private static final TrustDomain B = new TrustDomain("b.acme.internal");

    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private TrustRuntime a;
    private TrustRuntime b;
    private JwtKeyPropagation propagation;

    @AfterEach
    void stop() {
        if (propagation != null) {
            propagation.close();
        }
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    private TrustSettings settings(TrustDomain td, int port, TrustDomain peer, int peerPort) {
        return new TrustSettings(td, pki.roots(), pki.intermediate(td.name()),
                SpiffeId.ofServiceAccount(td, "isthmus-system", "isthmus-gateway"), dataRoot.resolve(td.name()),
                new InetSocketAddress("127.0.0.1", port), HOUR, HOUR, Duration.ofSeconds(30),
                List.of(new PeerConfig("cluster-" + peer.name(), peer, URI.create("https://127.0.0.1:" + peerPort + "/"),
                        Optional.empty())),
                new SyncSettings(HOUR, Duration.ofMillis(300), HOUR, Duration.ofMillis(200), Duration.ofSeconds(2), 3));
    }

    @Test
    void aNewKeySignsOnlyOnceThePeerConfirmedItOrAWholeWindowPassed() throws Exception {
        int pa = FreePorts.next();
        int pb = FreePorts.next();
        a = TrustRuntime.start(settings(A, pa, B, pb), Clock.systemUTC(), new SyncListener() { });
        b = TrustRuntime.start(settings(B, pb, A, pa), Clock.systemUTC(), new SyncListener() { });
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
        b.close();
        b = null;
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
