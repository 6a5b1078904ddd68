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
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * A peer's endpoint serves an older genuine bundle, one that still holds a CA the peer has since withdrawn (a stale
 * replica of the peer, or the peer's gateway started again from a backup of its data), to a gateway that restarted in
 * between. Two real gateways with real bundle endpoints; x's older bundle is x itself, started from a copy of its data
 * directory taken before the withdrawal. The restarted gateway keeps the newer bundle it persisted: the older sequence
 * is refused, and what the withdrawn CA signed stays refused.
 */
class OldBundleAfterRestartTest {
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

    private TrustRuntime start(String name, CaCredential intermediate, Path dir, int port, List<PeerConfig> peers)
            throws IOException {
        return gateways.start(name, intermediate, dir, port, peers, Clock.systemUTC());
    }

    @Test
    void aRestartedGatewayRefusesAnOlderBundleThatStillHoldsAWithdrawnCa() throws Exception {
        int xPort = FreePorts.next();
        int aPort = FreePorts.next();
        CaCredential xCa = pki.intermediate(td("x").name());
        CaCredential aCa = pki.intermediate(td("a").name());
        List<PeerConfig> aPeers = List.of(new PeerConfig("cluster-x", td("x"), URI.create("https://127.0.0.1:" + xPort
                + "/"), Optional.empty()));
        TrustRuntime x = start("x", xCa, dataRoot.resolve("x"), xPort, List.of());
        TrustRuntime a = start("a", aCa, dataRoot.resolve("a"), aPort, aPeers);

        // x also publishes an older intermediate, which signed a workload's SVID; a takes that bundle.
        CaCredential old = pki.intermediate(td("x").name());
        x.localBundle().publish(old.certificate());
        X509Svid signedByOld = TestCa.svid(old, "spiffe://x.acme.internal/ns/shop/sa/checkout");
        TrustRuntime aNow = a;
        await().atMost(Duration.ofSeconds(15)).until(() -> aNow.verifier().verify(signedByOld.chain()).verified());
        long withOld = a.bundleFor(td("x")).orElseThrow().sequence();
        copy(dataRoot.resolve("x"), dataRoot.resolve("x-backup"));

        // x withdraws it; a takes the newer bundle.
        long withdrawn = x.localBundle().withdraw(old.certificate().getSerialNumber()).sequence();
        assertThat(withdrawn).isGreaterThan(withOld);
        await().atMost(Duration.ofSeconds(15)).until(() -> aNow.verifier().verify(signedByOld.chain())
                instanceof SvidVerdict.Rejected);

        // Both stop; x comes back from the backup, serving the older genuine bundle; a restarts.
        gateways.close();
        TrustRuntime stale = start("x", xCa, dataRoot.resolve("x-backup"), xPort, List.of());
        assertThat(stale.localBundle().current().sequence()).as("the bundle x serves again").isEqualTo(withOld);
        assertThat(stale.localBundle().current().containsAuthority(old.certificate())).isTrue();
        TrustRuntime restarted = start("a", aCa, dataRoot.resolve("a"), aPort, aPeers);

        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(restarted.sync().status().get(td("x"))
                .lastRejection()).contains(BundleRejection.SEQUENCE_WENT_BACKWARDS));
        assertThat(restarted.bundleFor(td("x")).orElseThrow().sequence()).isEqualTo(withdrawn);
        assertThat(restarted.verifier().verify(signedByOld.chain())).isInstanceOf(SvidVerdict.Rejected.class);
        assertThat(restarted.sync().status().get(td("x")).lastError()).hasValueSatisfying(e -> assertThat(e)
                .contains("has sequence " + withOld + ", older than the accepted " + withdrawn));
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
