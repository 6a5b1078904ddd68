package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * The cross-site bridge admits a site only with an SVID of the trust domain configured for it. An impostor runs
 * at cluster-c's configured bridge address under cluster-c's site name, with a certificate from
 * another root (refused in the TLS handshake), or with a valid SVID of cluster-b (its messages claim site
 * cluster-c, whose trust domain is not the one its connection proved: dropped), while A and B run for real.
 */
class BridgeAuthenticationTest {
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(String cluster, String name) {
        return new ExportSpec(new ServiceKey(cluster, "billing", name), List.of(new ServicePort("grpc", 9090, Protocol.GRPC)),
                List.of(), 1);
    }

    private void assertImpostorIsShutOut(Site a, Site b, Site impostor) {
        ExportedService fromA = a.registry().export(spec("cluster-a", "payments"));
        ExportedService fromImpostor = impostor.registry().export(spec("cluster-c", "payments"));
        // B proves the bridge works and the export has propagated; the impostor must have received nothing.
        await().atMost(Duration.ofSeconds(30)).until(() -> b.registry().get(fromA.key()).isPresent());
        await().atMost(Duration.ofSeconds(30)).until(() -> a.node().refusedBridgeHandshakes() + a.node().droppedBridgeMessages() > 0);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(impostor.registry().get(fromA.key())).isEmpty();
            assertThat(a.registry().get(fromImpostor.key())).isEmpty();
            assertThat(b.registry().get(fromImpostor.key())).isEmpty();
            assertThat(a.node().sitesView()).doesNotContain("cluster-c");
            assertThat(b.node().sitesView()).doesNotContain("cluster-c");
        });
    }

    @Test
    void refusesASiteWhoseCertificateChainsToAnotherRoot() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        await().atMost(Duration.ofSeconds(30)).until(() -> a.node().sitesView().contains("cluster-b"));
        TestCa otherRoot = TestCa.create();
        X509Svid foreign = TestFederation.gatewaySvid(otherRoot.intermediate(TestFederation.trustDomain("cluster-c").name()),
                "cluster-c");
        Site impostor = federation.start("impostor", federation.settings("cluster-c"), foreign);
        assertImpostorIsShutOut(a, b, impostor);
    }

    @Test
    void refusesAFederationMemberPosingAsAnotherSite() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        await().atMost(Duration.ofSeconds(30)).until(() -> a.node().sitesView().contains("cluster-b"));
        // A valid SVID of cluster-b (chains to the federation root, in b's bundle), used by a node that calls itself
        // cluster-c at cluster-c's address: dialing it fails the site binding, and what it sends is dropped.
        Site impostor = federation.start("impostor", federation.settings("cluster-c"), federation.svidOf("cluster-b"));
        assertImpostorIsShutOut(a, b, impostor);
        assertThat(a.node().droppedBridgeMessages() + b.node().droppedBridgeMessages()).isPositive();
    }

    /**
     * A workload of cluster-c (a genuine SVID of cluster-c's own trust domain, from its own CA) runs a node at
     * cluster-c's bridge address under cluster-c's name, while cluster-c's gateway is down. Only a site's gateways may
     * speak for it on the bridge: a bridge member receives every site's registry and sends cross-site requests, so a
     * workload must not be one.
     */
    @Test
    void refusesAWorkloadOfAPeersTrustDomainSpeakingForThatSite() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        await().atMost(Duration.ofSeconds(30)).until(() -> a.node().sitesView().contains("cluster-b"));
        X509Svid workload = TestCa.svid(federation.intermediate("cluster-c"),
                TestFederation.trustDomain("cluster-c").workload("/ns/shop/sa/web").toString());
        Site impostor = federation.start("impostor", federation.settings("cluster-c"), workload);
        assertImpostorIsShutOut(a, b, impostor);
        assertThat(a.node().refusedBridgeHandshakes() + b.node().refusedBridgeHandshakes()).isPositive();
    }
}
