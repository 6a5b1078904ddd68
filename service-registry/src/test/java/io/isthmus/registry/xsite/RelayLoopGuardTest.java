package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.JChannel;
import org.jgroups.ObjectMessage;
import org.jgroups.protocols.relay.RELAY2;
import org.jgroups.protocols.relay.SiteMaster;
import org.jgroups.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * A site master that leaves must not loop a message for its own site's site master through its own loopback: that
 * loop once spun both virtual-thread carriers of a test JVM for 15 minutes and hung the node's close.
 */
class RelayLoopGuardTest {
    private static final Address SELF = new UUID(1, 1);
    private static final Address OTHER = new UUID(1, 2);

    @ParameterizedTest(name = "leaving={0} relayed={1} to {2}: drop={3}")
    @CsvSource({
            "true,  true,  self,  true",
            "true,  true,  other, false",
            "true,  true,  none,  false",
            "true,  false, self,  false",
            "false, true,  self,  false",
            "false, true,  other, false",
            "false, false, self,  false",
    })
    void dropsOnlyARelayedMessageToItselfWhileLeaving(boolean leaving, boolean relayed, String to, boolean drop) {
        Address dest = switch (to) {
            case "self" -> new UUID(1, 1);
            case "other" -> OTHER;
            default -> null;
        };
        assertThat(RelayLoopGuard.loops(leaving, relayed, dest, SELF)).isEqualTo(drop);
    }

    /**
     * The real local channel of a lone site: leaving (DISCONNECT), then RELAY2 stopped, as {@code JChannel.disconnect}
     * does, and a message for this site's site master sent in that window. Without the guard the message goes round
     * between RELAY2 and the transport's loopback for ever.
     */
    @Test
    void aMessageForTheSiteMasterSentWhileTheSiteMasterLeavesIsDroppedOnceNotLooped() throws Exception {
        SiteSettings settings = new SiteSettings("cluster-a", new TrustDomain("cluster-a.example"), "127.0.0.1",
                FreePorts.next(), List.of(), FreePorts.next(), Map.of());
        ChannelFactory factory = new ChannelFactory(settings, null, null, ChannelFactory.Timing.FAST);
        JChannel ch = factory.createLocalChannel();
        try {
            ch.connect("isthmus-local-loop-test");
            RelayLoopGuard guard = ch.getProtocolStack().findProtocol(RelayLoopGuard.class);
            RELAY2 relay = ch.getProtocolStack().findProtocol(RELAY2.class);
            await().atMost(Duration.ofSeconds(10)).until(relay::isSiteMaster);
            factory.close();

            ch.down(new Event(Event.DISCONNECT, ch.getAddress()));
            relay.stop();
            ch.send(new ObjectMessage(new SiteMaster("cluster-a"), "backup for the leaving site master"));

            await().atMost(Duration.ofSeconds(5)).until(() -> guard.dropped() >= 1);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .untilAsserted(() -> assertThat(guard.dropped()).isEqualTo(1));
        } finally {
            ch.close();
        }
    }
}
