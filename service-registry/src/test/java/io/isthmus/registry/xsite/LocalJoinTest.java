package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.jgroups.JChannel;
import org.jgroups.protocols.TCPPING;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * A starting replica joins the other one even when its first discovery request finds nobody. Two replicas that start
 * together often are in that case: the request reaches the other before it listens, or its TLS handshake with a JVM
 * still warming up outlasts the wait. With a single request per join, each then started a local cluster of its own
 * (seen in CI for all three sites of LoadBalancedFederationE2ETest), merged only tens of seconds later.
 */
class LocalJoinTest {
    private static final String CLUSTER = "isthmus-cluster-a";
    private static final TrustDomain DOMAIN = new TrustDomain("cluster-a.example");
    /** Well inside the default 2 s join timeout, after its first request, before its second (at 2/3 s). */
    private static final Duration START_GAP = Duration.ofMillis(250);

    @Test
    void aReplicaWhoseFirstDiscoveryRequestFindsNobodyStillJoinsAReplicaThatStartsJustAfter() throws Exception {
        int firstPort = FreePorts.next();
        ChannelFactory startingFactory = factory(FreePorts.next(), List.of(
                new InetSocketAddress(TestFederation.HOST, firstPort)));
        ChannelFactory laterFactory = factory(firstPort, List.of());
        try (JChannel starting = startingFactory.createLocalChannel();
                JChannel later = laterFactory.createLocalChannel()) {
            assertThat(starting.getProtocolStack().<TCPPING>findProtocol(TCPPING.class).getValue("num_discovery_runs"))
                    .isEqualTo(ChannelFactory.LOCAL_DISCOVERY_RUNS);
            // The first request is refused: its replica does not listen yet. It starts a moment later, alone (it is
            // configured with no other replica), well within the starting replica's join timeout.
            CompletableFuture<Void> joining = CompletableFuture.runAsync(() -> {
                try {
                    starting.connect(CLUSTER);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(START_GAP.toMillis());
            later.connect(CLUSTER);
            joining.get(10, TimeUnit.SECONDS);
            assertThat(starting.getView().getMembers()).as("the starting replica's first view")
                    .containsExactly(later.getAddress(), starting.getAddress());
        } finally {
            startingFactory.close();
            laterFactory.close();
        }
    }

    private static ChannelFactory factory(int localPort, List<InetSocketAddress> members) {
        SiteSettings settings = new SiteSettings("cluster-a", DOMAIN, TestFederation.HOST, localPort, members,
                FreePorts.next(), Map.of());
        return new ChannelFactory(settings, null, null, ChannelFactory.Timing.DEFAULT);
    }
}
