package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.TestCa;

/**
 * Three gateways in one JVM, each with its own intermediate under one root, its own data directory and a real
 * SPIFFE bundle endpoint on loopback, polling each other over https_spiffe. Proves that bundles are exchanged,
 * that withdrawing an intermediate revokes what it signed at the other gateways within one refresh interval,
 * and that a restarted gateway whose peers are down still holds their last good bundles from disk.
 */
class FederationSyncTest {
    private static final Duration REFRESH = Duration.ofSeconds(1);
    private static final List<String> NAMES = List.of("a", "b", "c");

    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private final Map<String, Integer> ports = new LinkedHashMap<>();
    private final Map<String, CaCredential> intermediates = new LinkedHashMap<>();
    private final Map<String, TrustRuntime> gateways = new LinkedHashMap<>();

    private static TrustDomain td(String name) {
        return new TrustDomain(name + ".acme.internal");
    }

    private TrustSettings settings(String name) {
        List<PeerConfig> peers = new ArrayList<>();
        for (String other : NAMES) {
            if (!other.equals(name)) {
                peers.add(new PeerConfig("cluster-" + other, td(other),
                        URI.create("https://127.0.0.1:" + ports.get(other) + "/"), Optional.empty()));
            }
        }
        SyncSettings sync = new SyncSettings(REFRESH, Duration.ofMillis(200), Duration.ofMinutes(1),
                Duration.ofMillis(200), Duration.ofSeconds(2), 3);
        return new TrustSettings(td(name), pki.roots(), intermediates.get(name),
                SpiffeId.ofServiceAccount(td(name), "isthmus-system", "isthmus-gateway"), dataRoot.resolve(name),
                new InetSocketAddress("127.0.0.1", ports.get(name)), REFRESH, Duration.ofHours(1), Duration.ofSeconds(30),
                peers, sync);
    }

    private void startAll() throws IOException {
        for (String name : NAMES) {
            ports.put(name, FreePorts.next());
            intermediates.put(name, pki.intermediate(td(name).name()));
        }
        for (String name : NAMES) {
            gateways.put(name, TrustRuntime.start(settings(name), Clock.systemUTC(), new SyncListener() { }));
        }
    }

    @AfterEach
    void stop() {
        gateways.values().forEach(TrustRuntime::close);
    }

    private void awaitFullMesh() {
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            for (String name : NAMES) {
                assertThat(gateways.get(name).store().snapshot().trustDomains())
                        .as("bundles known to %s", name).containsExactlyInAnyOrder(td("a"), td("b"), td("c"));
            }
        });
    }

    @Test
    void gatewaysExchangeBundlesAndVerifyEachOthersSvids() throws IOException {
        startAll();
        awaitFullMesh();
        X509Svid checkout = gateways.get("a").ca().issue(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"),
                Duration.ofMinutes(10));
        for (String verifierName : List.of("b", "c")) {
            SvidVerdict verdict = gateways.get(verifierName).verifier().verify(checkout.chain());
            assertThat(verdict).as("%s verifies a's workload", verifierName).isInstanceOf(SvidVerdict.Verified.class);
        }
        // Each gateway's bundle as seen by the others is exactly what it publishes.
        TrustBundle published = gateways.get("b").localBundle().current();
        assertThat(gateways.get("a").bundleFor(td("b")).orElseThrow().sameKeysAs(published)).isTrue();
        assertThat(gateways.get("c").sync().status().get(td("b")).stale()).isFalse();
    }

    @Test
    void withdrawingAnIntermediateRevokesItsSvidsAtEveryPeerWithinOneRefresh() throws Exception {
        startAll();
        TrustRuntime a = gateways.get("a");
        // Cluster a also publishes an older intermediate, which signed a workload's SVID.
        CaCredential old = pki.intermediate(td("a").name());
        a.localBundle().publish(old.certificate());
        X509Svid signedByOld = TestCa.svid(old, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        awaitFullMesh();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            for (String peer : List.of("b", "c")) {
                assertThat(gateways.get(peer).verifier().verify(signedByOld.chain()).verified()).isTrue();
            }
        });

        // "Within one refresh" is counted in polls, not wall time (a fetch takes over a second on a loaded 2-core
        // machine): each peer polls a at the refresh interval a's bundle asks for, and the first poll that starts
        // after the withdrawal already revokes. A poll's status shows its start (lastAttempt) and, once it completed,
        // its end (lastSuccess, set after the fetched bundle is stored), so a completed poll that started after the
        // withdrawal while the SVID still verifies would be a poll that missed it. The wall-clock deadline only ends
        // a run that never revokes.
        for (String peer : List.of("b", "c")) {
            assertThat(gateways.get(peer).sync().status().get(td("a")).interval()).as("%s polls a every", peer)
                    .isEqualTo(REFRESH);
        }
        long withdrawnAt = System.nanoTime();
        TrustBundle after = a.localBundle().withdraw(old.certificate().getSerialNumber());
        Instant withdrawn = Instant.now();
        Map<String, Long> revokedAfterMillis = new LinkedHashMap<>();
        List<String> missed = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
            for (String peer : List.of("b", "c")) {
                if (revokedAfterMillis.containsKey(peer)) {
                    continue;
                }
                // The status first: a poll it shows as completed stored its bundle before the verification below.
                PeerSyncStatus polled = gateways.get(peer).sync().status().get(td("a"));
                SvidVerdict v = gateways.get(peer).verifier().verify(signedByOld.chain());
                if (v instanceof SvidVerdict.Rejected r) {
                    assertThat(r.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE);
                    assertThat(r.message()).contains("is not in the bundle of a.acme.internal, sequence " + after.sequence());
                    revokedAfterMillis.put(peer, (System.nanoTime() - withdrawnAt) / 1_000_000);
                } else if (completedAfter(polled, withdrawn)) {
                    missed.add(peer + ": poll started " + polled.lastAttempt().orElseThrow() + ", completed "
                            + polled.lastSuccess().orElseThrow() + ", after the withdrawal at " + withdrawn
                            + ", and a's old intermediate still verifies");
                }
            }
            return revokedAfterMillis.size() == 2 || !missed.isEmpty();
        });
        assertThat(missed).as("polls that started after the withdrawal and did not revoke").isEmpty();
        // SVIDs of a's current intermediate still verify everywhere.
        X509Svid current = a.ca().issue(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart"), Duration.ofMinutes(5));
        assertThat(gateways.get("b").verifier().verify(current.chain()).verified()).isTrue();
        System.out.println("revocation reached peers after (ms): " + revokedAfterMillis);
    }

    private static boolean completedAfter(PeerSyncStatus status, Instant instant) {
        return status.lastAttempt().filter(start -> start.isAfter(instant)).isPresent()
                && status.lastSuccess().filter(end -> !end.isBefore(status.lastAttempt().get())).isPresent();
    }

    @Test
    void restartedGatewayKeepsLastGoodPeerBundlesWhilePeersAreDown() throws Exception {
        startAll();
        awaitFullMesh();
        long sequenceOfB = gateways.get("c").bundleFor(td("b")).orElseThrow().sequence();
        long ownSequence = gateways.get("c").localBundle().current().sequence();
        X509Svid payments = gateways.get("b").ca().issue(SpiffeId.parse("spiffe://b.acme.internal/ns/billing/sa/payments"),
                Duration.ofMinutes(10));

        for (TrustRuntime g : gateways.values()) {
            g.close();
        }
        gateways.clear();
        assertThat(Files.exists(dataRoot.resolve("c").resolve("bundles").resolve("b.acme.internal.json"))).isTrue();

        // Only c comes back; a and b stay down. Its clock is five minutes on, so that a bundle started over would
        // get a sequence of its own (never below the clock's epoch second), above the one before the restart.
        Clock later = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(5));
        TrustRuntime c = TrustRuntime.start(settings("c"), later, new SyncListener() { });
        gateways.put("c", c);
        assertThat(c.bundleFor(td("b")).orElseThrow().sequence()).isEqualTo(sequenceOfB);
        assertThat(c.verifier().verify(payments.chain()).verified()).isTrue();
        PeerSyncStatus status = c.sync().status().get(td("b"));
        assertThat(status.loadedFromDisk()).isTrue();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(c.sync().status().get(td("b")).lastRejection()).contains(BundleRejection.FETCH_FAILED));
        // The outage changed nothing: the last good bundle is still in force.
        assertThat(c.verifier().verify(payments.chain()).verified()).isTrue();
        // Its own bundle continues across the restart (same CAs, so the same sequence) instead of starting over.
        assertThat(c.localBundle().current().sequence()).as("c's own bundle sequence after the restart")
                .isEqualTo(ownSequence);
    }

    /**
     * A peer that goes down is one WARN at each gateway that polls it, naming it and what to check, not one per
     * attempt (the quick start's clean stop logged 13 for one peer); its return is one INFO.
     */
    @Test
    void aPeerThatIsDownIsOneWarningAndItsReturnOneInfo() throws Exception {
        startAll();
        awaitFullMesh();
        try (LogCapture log = LogCapture.of(PeerBundleSync.class)) {
            gateways.remove("b").close();
            await().atMost(Duration.ofSeconds(15)).until(() -> about(log.all(), "still unreachable").size() >= 4);
            List<String> warnings = about(log.atLeast(Level.WARNING), "");
            assertThat(warnings).as("one warning from each of a and c").hasSize(2);
            assertThat(warnings).allSatisfy(w -> assertThat(w).contains("fetch-failed")
                    .contains("check that cluster-b's gateway is up"));

            gateways.put("b", TrustRuntime.start(settings("b"), Clock.systemUTC(), new SyncListener() { }));
            await().atMost(Duration.ofSeconds(15)).until(() -> about(log.all(), "reachable again").size() == 2);
        }
    }

    /** The lines about peer cluster-b that contain {@code text}. */
    private static List<String> about(List<String> lines, String text) {
        return lines.stream().filter(l -> l.contains(" peer cluster-b (") && l.contains(text)).toList();
    }

    @Test
    void anEndpointThatCannotProveThePeersIdentityIsRefused() throws Exception {
        startAll();
        awaitFullMesh();
        // Point a fresh client for "b" at c's endpoint: c presents an SVID of c.acme.internal, not of b.
        PeerConfig impostor = new PeerConfig("cluster-b", td("b"), URI.create("https://127.0.0.1:" + ports.get("c") + "/"),
                Optional.empty());
        BundleEndpointClient client = new BundleEndpointClient(impostor, pki.roots(), gateways.get("a").store(),
                Clock.systemUTC(), Duration.ofSeconds(30), new io.isthmus.trust.bundle.BundleCodec(), Duration.ofSeconds(2),
                null);
        Throwable failure = client.fetch().handle((ok, e) -> e).join();
        assertThat(failure).rootCause().isInstanceOf(io.isthmus.trust.tls.SvidCertificateException.class);
        assertThat(failure.getCause()).isInstanceOfSatisfying(BundleRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(BundleRejection.ENDPOINT_NOT_AUTHENTICATED));
    }
}
