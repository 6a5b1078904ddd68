package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.lifecycle.ComponentStatus;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.infinispan.partitionhandling.PartitionHandling;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TP;
import org.jgroups.stack.ProtocolStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;
import io.isthmus.trust.testing.FreePorts;

/**
 * The fault: two replicas start together, and the one that did not create the cluster starts a shared cache (the
 * gateway's join tokens) before the coordinator has defined it. Infinispan's coordinator takes a cache's partition
 * handling from its own definition when the cache is first started anywhere, and keeps it: with no definition it
 * chose none, so after a cut the coordinator's copy of a DENY_READ_WRITES cache stayed available. In the gateway that
 * replica never lost its majority (no degraded mode, no cut-off grace for VMs: it renewed a VM revoked on the other
 * side for as long as the cut lasted; ReplicaCutOffE2ETest, 2 runs on a loaded host) and merged no conflicts at the heal. Real registry
 * nodes of one cluster on loopback (mutual TLS), the second cut off with DISCARD.
 */
class CachesDefinedBeforeJoinTest {
    private static final String CACHE = "shared-deny-read-writes";
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a");
    private final int local1 = FreePorts.next();
    private final int local2 = FreePorts.next();
    private final int bridge2 = FreePorts.next();

    @AfterEach
    void close() {
        federation.close();
    }

    @ParameterizedTest(name = "coordinator defines the cache {0}: after the cut it is {1}")
    @CsvSource({
        "before it joins (RegistryNode.start),    DEGRADED_MODE",
        "only after the other replica started it, AVAILABLE"})
    void aCoordinatorTakesPartitionHandlingOnlyFromADefinitionMadeBeforeTheOtherReplicaStartedTheCache(String when,
            AvailabilityMode afterCut) throws Exception {
        boolean beforeJoin = when.startsWith("before");
        AtomicReference<ComponentStatus> statusWhenDefining = new AtomicReference<>();
        Consumer<EmbeddedCacheManager> define = manager -> {
            statusWhenDefining.compareAndSet(null, manager.getStatus());
            ConfigurationBuilder b = new ConfigurationBuilder();
            b.clustering().cacheMode(CacheMode.REPL_SYNC).partitionHandling()
                    .whenSplit(PartitionHandling.DENY_READ_WRITES);
            manager.defineConfiguration(CACHE, b.build());
        };
        Site coordinator = federation.start("a1", replica(local1, federation.settings("cluster-a").bridgePort()), federation.svidOf("cluster-a"),
                ChannelFactory.Timing.FAST, beforeJoin ? define : manager -> { });
        Site other = federation.start("a2", replica(local2, bridge2), federation.svidOf("cluster-a"), ChannelFactory.Timing.FAST,
                define);
        EmbeddedCacheManager first = coordinator.node().cacheManager();
        EmbeddedCacheManager second = other.node().cacheManager();
        assertThat(first.isCoordinator()).isTrue();
        if (beforeJoin) {
            assertThat(statusWhenDefining.get()).as("the node's status when the caches are defined")
                    .isEqualTo(ComponentStatus.INSTANTIATED);
        }
        // The other replica starts the cache first; the coordinator only then (defining it now if it had not).
        second.getCache(CACHE);
        if (!beforeJoin) {
            define.accept(first);
        }
        Cache<String, String> atCoordinator = first.getCache(CACHE);
        await("both replicas hold the cache").atMost(Duration.ofSeconds(30)).until(() -> atCoordinator
                .getAdvancedCache().getDistributionManager().getCacheTopology().getMembers().size() == 2);

        cut(second);
        await("the coordinator sees the cut").atMost(Duration.ofSeconds(30)).until(() -> first.getMembers().size() == 1);
        await("the coordinator's copy after the cut").atMost(Duration.ofSeconds(10))
                .pollDelay(Duration.ofSeconds(afterCut == AvailabilityMode.AVAILABLE ? 3 : 0))
                .until(() -> atCoordinator.getAdvancedCache().getAvailability() == afterCut);
    }

    private SiteSettings replica(int localPort, int bridgePort) {
        SiteSettings a = federation.settings("cluster-a");
        return new SiteSettings("cluster-a", a.trustDomain(), TestFederation.HOST, localPort,
                List.of(new InetSocketAddress(TestFederation.HOST, local1),
                        new InetSocketAddress(TestFederation.HOST, local2)), bridgePort, a.peers());
    }

    private static void cut(EmbeddedCacheManager node) throws Exception {
        JGroupsTransport transport = (JGroupsTransport) GlobalComponentRegistry.componentOf(node, Transport.class);
        DISCARD discard = new DISCARD().discardAll(true);
        discard.setAddress(transport.getChannel().getAddress());
        transport.getChannel().getProtocolStack().insertProtocol(discard, ProtocolStack.Position.ABOVE, TP.class);
    }
}
