package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * A member is removed from the federation (its bundle leaves the store, so its SVIDs stop verifying) while a poll of
 * its bundle endpoint is in flight: the fetched bundle, validated a moment later, must not be installed after the
 * removal. The removed member can arrange exactly this: it is told of its removal (the new document is pushed to every
 * member of the old version too) and it answers its peers' polls, and their refresh hints, as slowly as it likes.
 *
 * <p>Two real gateways (x, the member that is removed, and a) with real bundle endpoints over https_spiffe. a's clock
 * holds a's bundle-fetch thread inside the validation of x's bundle until the removal is applied: the test controls
 * when, instead of hoping a race happens. Before the fix, the poll installed x's bundle after the removal (and wrote
 * it to disk); nothing polled or removed it again, so x's SVIDs verified at a until a restarted.
 */
class RemovedPeerInFlightTest {
    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private final TestGateways gateways = new TestGateways(pki);

    @AfterEach
    void stop() {
        gateways.close();
    }

    private static TrustDomain td(String name) {
        return TestGateways.td(name);
    }

    private TrustRuntime start(String name, int port, List<PeerConfig> peers, Clock clock) throws IOException {
        return gateways.start(name, pki.intermediate(td(name).name()), dataRoot.resolve(name), port, peers, clock);
    }

    @Test
    void aPollInFlightWhenAMemberIsRemovedDoesNotBringItsBundleBack() throws Exception {
        int xPort = FreePorts.next();
        int aPort = FreePorts.next();
        TrustRuntime x = start("x", xPort, List.of(), Clock.systemUTC());
        AtomicBoolean hold = new AtomicBoolean(true);
        HoldingClock clock = new HoldingClock(() -> hold.get()
                && Thread.currentThread().getName().startsWith("isthmus-bundle-fetch")
                && StackWalker.getInstance().walk(frames -> frames.anyMatch(f ->
                        f.getClassName().equals(PeerBundleValidator.class.getName()))));
        TrustRuntime a = start("a", aPort, List.of(new PeerConfig("cluster-x", td("x"),
                URI.create("https://127.0.0.1:" + xPort + "/"), Optional.empty())), clock);

        // a fetched x's bundle and is validating it: x is removed now (what a membership change applies).
        assertThat(clock.reached.await(15, TimeUnit.SECONDS)).as("a's poll of x reached validation").isTrue();
        a.applyMembership(pki.roots(), List.of());
        assertThat(a.sync().peerDomains()).doesNotContain(td("x"));
        hold.set(false);
        clock.release.countDown();

        X509Svid xWorkload = x.ca().issue(SpiffeId.parse("spiffe://x.acme.internal/ns/shop/sa/web"),
                Duration.ofMinutes(10));
        await("x stays removed at a").pollInterval(Duration.ofMillis(100)).during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    assertThat(a.store().bundleFor(td("x"))).as("x's bundle in a's store after x was removed")
                            .isEmpty();
                    assertThat(a.snapshot().bundles().bundleFor(td("x"))).as("x's bundle in a's trust snapshot")
                            .isEmpty();
                    assertThat(a.verifier().verify(xWorkload.chain())).as("x's workload SVID at a")
                            .isInstanceOf(SvidVerdict.Rejected.class);
                });
        assertThat(Files.exists(a.store().fileOf(td("x")))).as("x's bundle persisted at a").isFalse();
    }
}
