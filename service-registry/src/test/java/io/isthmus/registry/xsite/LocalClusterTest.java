package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * Two gateway replicas of cluster-a form one local Infinispan cluster (TLS, own gateway identity only) and one site;
 * cluster-b is a second site. When the site master of cluster-a stops, the other replica takes over the bridge
 * on its own bridge port and replication to B goes on. A node with cluster-b's SVID cannot join cluster-a's
 * local cluster, and a replica whose intermediate is removed from the bundle is cut off by the other's re-check.
 */
class LocalClusterTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b");
    private final int local1 = FreePorts.next();
    private final int local2 = FreePorts.next();
    private final int local3 = FreePorts.next();
    private final int bridge2 = FreePorts.next();

    @AfterEach
    void close() {
        federation.close();
    }

    /** cluster-a's replica settings: all replicas listed as local members; B learns both bridge addresses. */
    private SiteSettings replica(int localPort, int bridgePort) {
        SiteSettings a = federation.settings("cluster-a");
        return new SiteSettings("cluster-a", a.trustDomain(), TestFederation.HOST, localPort,
                List.of(new InetSocketAddress(TestFederation.HOST, local1), new InetSocketAddress(TestFederation.HOST, local2),
                        new InetSocketAddress(TestFederation.HOST, local3)),
                bridgePort, a.peers());
    }

    private SiteSettings bWithBothBridgesOfA() {
        SiteSettings b = federation.settings("cluster-b");
        PeerSite a = b.peers().get("cluster-a");
        return new SiteSettings(b.site(), b.trustDomain(), b.bindHost(), b.localPort(), b.localMembers(), b.bridgePort(),
                Map.of("cluster-a", new PeerSite("cluster-a", List.of(a.bridgeAddresses().get(0),
                        new InetSocketAddress(TestFederation.HOST, bridge2)), a.trustDomain())));
    }

    private static ExportSpec spec(String name) {
        return new ExportSpec(new ServiceKey("cluster-a", "billing", name), List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(), 1);
    }

    /**
     * Was flaky (tagged slow) until the stacks stopped using JGroups 5.5.1's per-destination bundler: after a1
     * left with messages still queued for it, that bundler spun for ever on a virtual thread, and two spinning
     * bundlers starved every other virtual thread (discovery, merge, cross-site backup) on a 2-CPU host. See
     * {@link ChannelFactory} and the registry2 notes.
     */
    @Test
    void replicasShareOneSiteAndTheSecondTakesOverTheBridge() {
        int bridge1 = federation.settings("cluster-a").bridgePort();
        Site a1 = federation.start("a1", replica(local1, bridge1), federation.svidOf("cluster-a"));
        Site a2 = federation.start("a2", replica(local2, bridge2), federation.svidOf("cluster-a"));
        Site b = federation.start("b", bWithBothBridgesOfA(), federation.svidOf("cluster-b"));
        await().atMost(DEADLINE).until(() -> a1.node().cacheManager().getMembers().size() == 2
                && b.node().sitesView().contains("cluster-a"));

        ExportedService first = a1.registry().export(spec("first"));
        assertThat(a2.registry().get(first.key())).as("local replication is synchronous").contains(first);
        await().atMost(DEADLINE).until(() -> b.registry().get(first.key()).isPresent());

        federation.stop("a1");
        await().atMost(DEADLINE).until(() -> a2.node().cacheManager().getMembers().size() == 1
                && b.node().sitesView().contains("cluster-a") && a2.node().sitesView().contains("cluster-b"));
        ExportedService second = a2.registry().export(spec("second"));
        await().atMost(DEADLINE).until(() -> b.registry().get(second.key()).isPresent());
    }

    @Test
    void aNodeOfAnotherTrustDomainCannotJoinTheLocalCluster() {
        Site a1 = federation.start("a1", replica(local1, federation.settings("cluster-a").bridgePort()), federation.svidOf("cluster-a"));
        // Configured as a replica of cluster-a but holding cluster-b's SVID.
        Site intruder = federation.start("intruder", replica(local3, bridge2), federation.svidOf("cluster-b"));
        ExportedService e = a1.registry().export(spec("private"));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(a1.node().cacheManager().getMembers()).hasSize(1);
            assertThat(intruder.node().cacheManager().getMembers()).hasSize(1);
            assertThat(intruder.registry().get(e.key())).isEmpty();
        });
    }

    /**
     * The attacker holds a genuine SVID of cluster-a's own trust domain, but a workload's, and can reach the gateway
     * replicas' local port. A member of the local cluster reads and writes every replicated cache, some of whose
     * entries nothing signs (the replicas' public JWT keys, which the bundle publishes; join tokens; VM identities),
     * so it would publish a JWT key of its own and forge JWT-SVIDs that every peer accepts. Only this gateway's own
     * SPIFFE ID may be a replica.
     */
    @Test
    void aWorkloadOfTheSameTrustDomainCannotJoinTheLocalCluster() {
        Site a1 = federation.start("a1", replica(local1, federation.settings("cluster-a").bridgePort()),
                federation.svidOf("cluster-a"));
        X509Svid workload = TestCa.svid(federation.intermediate("cluster-a"),
                "spiffe://" + TestFederation.trustDomain("cluster-a").name() + "/ns/shop/sa/web");
        Site intruder = federation.start("intruder", replica(local3, bridge2), workload);
        ExportedService e = a1.registry().export(spec("private"));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(a1.node().cacheManager().getMembers()).hasSize(1);
            assertThat(intruder.node().cacheManager().getMembers()).hasSize(1);
            assertThat(intruder.registry().get(e.key())).isEmpty();
        });
    }

    @Test
    void aReplicaWhoseIntermediateIsRevokedIsCutOffFromTheLocalCluster() throws Exception {
        // a2's SVID comes from a second intermediate of cluster-a, which is then removed from the bundle.
        CaCredential second = federation.addIntermediate("cluster-a");
        Site a1 = federation.start("a1", replica(local1, federation.settings("cluster-a").bridgePort()), federation.svidOf("cluster-a"));
        Site a2 = federation.start("a2", replica(local2, bridge2), TestFederation.gatewaySvid(second, "cluster-a"));
        await().atMost(DEADLINE).until(() -> a1.node().cacheManager().getMembers().size() == 2);
        assertThat(a1.node().revalidatePeers().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEmpty();

        federation.revoke("cluster-a", second, "cluster-a");
        List<RevokedConnection> closed = a1.node().revalidatePeers().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(closed).isNotEmpty().allSatisfy(r -> {
            assertThat(r.channel()).isEqualTo("local cluster");
            assertThat(r.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE);
        });
        assertThat(a1.node().revokedLocalConnections()).isEqualTo(closed.size());
        await().atMost(DEADLINE).until(() -> a1.node().cacheManager().getMembers().size() == 1);
        ExportedService e = a1.registry().export(spec("after-revocation"));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(a1.node().cacheManager().getMembers()).hasSize(1);
            assertThat(a2.registry().get(e.key())).isEmpty();
        });
    }
}
