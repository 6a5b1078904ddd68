package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.jgroups.JChannel;
import org.jgroups.protocols.SHARED_LOOPBACK;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * The bridge channel is created only once the node's cross-site cache runs: the other sites' backups arriving over
 * an earlier bridge would meet no cache and take this site offline (ISPN000606), for as long as the cross-site view
 * stays the same. RELAY2 creates the bridge on a thread of its own, which is the one that waits.
 */
class ChannelFactoryTest {
    private static ChannelFactory factory() {
        SiteSettings settings = new SiteSettings("cluster-a", new TrustDomain("cluster-a.example"), "127.0.0.1", 0,
                List.of(), FreePorts.next(), Map.of());
        return new ChannelFactory(settings, null, null, ChannelFactory.Timing.FAST);
    }

    private static CompletableFuture<JChannel> createBridge(ChannelFactory f) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return f.createBridgeChannel();
            } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    @Test
    void theBridgeWaitsUntilTheCrossSiteCacheRuns() throws Exception {
        ChannelFactory f = factory();
        CompletableFuture<JChannel> bridge = createBridge(f);
        await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(5)).until(() -> !bridge.isDone());
        f.cachesRunning();
        try (JChannel ch = bridge.get(10, TimeUnit.SECONDS)) {
            assertThat(ch.getName()).startsWith("_cluster-a-");
        }
    }

    @Test
    void aNodeClosedBeforeItsCacheRanGetsNoBridge() throws Exception {
        ChannelFactory f = factory();
        CompletableFuture<JChannel> bridge = createBridge(f);
        f.close();
        // RELAY2 logs an ERROR with a stack trace when bridge creation throws, so a node stopping early gets a
        // channel that can only reach this JVM's loopback: no TCP transport, so it never joins a peer's bridge.
        try (JChannel ch = bridge.get(10, TimeUnit.SECONDS)) {
            assertThat(ch.getName()).isEqualTo("_cluster-a-closing");
            assertThat(ch.getProtocolStack().getTransport()).isInstanceOf(SHARED_LOOPBACK.class);
        }
    }
}
