package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.jgroups.Message;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.stack.Protocol;
import org.jgroups.stack.ProtocolStack;
import org.jgroups.util.MessageBatch;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * A node stops promptly while its bridge is still joining a peer's. The bridge joins on RELAY2's own thread, which
 * holds the bridge channel's lock for the whole join; closing the node closes that channel, which waits for the lock.
 * JGroups' join only gives up after {@code max_join_attempts} (10), each waiting a join timeout for the coordinator's
 * answer: 20-40 s with the default timing, during which the gateway did not stop on SIGTERM (seen in thread dumps of
 * FederationMembershipE2ETest and ImpersonationE2ETest gateways that a peer's bridge answered but never admitted).
 */
class BridgeJoinAtStopTest {
    /** FAST, but with the default bridge join timeout, so ten join attempts last well over the stop's allowance. */
    private static final ChannelFactory.Timing TIMING = new ChannelFactory.Timing(4_000, 1_000, 500, 2_000, 1_000,
            3_000, 500, 3_000);
    /** One join timeout, plus the stop of a node whose bridge never formed. */
    private static final Duration STOP_ALLOWANCE = Duration.ofSeconds(6);

    @Test
    void aNodeWhoseBridgeIsStillJoiningStopsWithinAJoinTimeout() throws Exception {
        try (TestFederation fed = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b")) {
            Site peer = fed.start("cluster-b");
            JoinDropper dropper = new JoinDropper();
            await().atMost(Duration.ofSeconds(20)).until(() -> peer.node().bridgeTransportsForTest().stream()
                    .anyMatch(tcp -> tcp.getProtocolStack().<GMS>findProtocol(GMS.class).view() != null));
            TlsTcp peerBridge = peer.node().bridgeTransportsForTest().iterator().next();
            peerBridge.getProtocolStack().insertProtocol(dropper, ProtocolStack.Position.BELOW, GMS.class);

            fed.start("cluster-a", fed.settings("cluster-a"), fed.svidOf("cluster-a"), TIMING);
            // The peer's bridge answers discovery, so cluster-a's bridge asks it to join, and keeps asking.
            await().atMost(Duration.ofSeconds(20)).until(() -> dropper.dropped.get() >= 1);

            long start = System.nanoTime();
            CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> fed.stop("cluster-a"));
            stop.get(STOP_ALLOWANCE.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(STOP_ALLOWANCE);
        }
    }

    /** Drops every request to join the bridge (a peer that answers discovery, then never admits the joiner). */
    private static final class JoinDropper extends Protocol {
        private static final short GMS_ID = ClassConfigurator.getProtocolId(GMS.class);
        final AtomicInteger dropped = new AtomicInteger();

        private boolean isJoin(Message msg) {
            if (msg.getHeader(GMS_ID) instanceof GMS.GmsHeader h && (h.getType() == GMS.GmsHeader.JOIN_REQ
                    || h.getType() == GMS.GmsHeader.JOIN_REQ_WITH_STATE_TRANSFER)) {
                dropped.incrementAndGet();
                return true;
            }
            return false;
        }

        @Override
        public Object up(Message msg) {
            return isJoin(msg) ? null : up_prot.up(msg);
        }

        @Override
        public void up(MessageBatch batch) {
            batch.removeIf(this::isJoin, true);
            if (!batch.isEmpty()) {
                up_prot.up(batch);
            }
        }
    }
}
