package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.protocols.pbcast.GMS;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * A peer site that the bridge drops while it is still up comes back at once, not at MERGE3's next rounds. Two real
 * Infinispan sites bridged over TLS, with merge rounds 20-40 s apart (so that only the healing can bring the peer
 * back within the deadline); the bridge coordinator then excludes the other site's live bridge member, as an
 * erroneous suspicion does. Seen in IntermediateRotationE2ETest: east's bridge lost west 3 s after both started and
 * got it back 24 s later, and west's leases of east's exports lapsed meanwhile.
 */
class BridgeHealingTest {
    /** FAST failure detection, but merge rounds 20-40 s apart. */
    private static final ChannelFactory.Timing SLOW_MERGES =
            new ChannelFactory.Timing(4_000, 1_000, 500, 2_000, 20_000, 40_000, 500, 3_000);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b");

    @AfterEach
    void close() {
        federation.close();
    }

    private Site start(String site, String peer) {
        return federation.start(site, federation.settingsWithPeers(site, peer), federation.svidOf(site), SLOW_MERGES);
    }

    @Test
    void aLivePeerSiteDroppedFromTheBridgeIsMergedBackWithinSeconds() {
        Site a = start("cluster-a", "cluster-b");
        Site b = start("cluster-b", "cluster-a");
        await("the bridge forms").atMost(Duration.ofSeconds(90)).until(() -> a.node().sitesView().contains("cluster-b")
                && b.node().sitesView().contains("cluster-a"));

        GMS coordinator = null;
        Address local = null;
        Site dropping = null;
        for (Site s : List.of(a, b)) {
            for (TlsTcp tcp : s.node().bridgeTransportsForTest()) {
                GMS gms = tcp.getProtocolStack().findProtocol(GMS.class);
                if (gms != null && gms.isCoord()) {
                    coordinator = gms;
                    local = tcp.getAddress();
                    dropping = s;
                }
            }
        }
        assertThat(coordinator).as("one bridge member coordinates").isNotNull();
        Address self = local;
        List<Address> others = coordinator.view().getMembers().stream().filter(m -> !m.equals(self)).toList();
        assertThat(others).hasSize(1);
        Site dropper = dropping;
        String dropped = dropper == a ? "cluster-b" : "cluster-a";

        // An erroneous suspicion that got past verification: the coordinator excludes the live member.
        coordinator.up(new Event(Event.SUSPECT, others));
        await("the coordinator's site drops " + dropped).atMost(Duration.ofSeconds(10))
                .until(() -> !dropper.node().sitesView().contains(dropped));
        long dropAt = System.nanoTime();

        await(dropped + " is merged back").atMost(Duration.ofSeconds(12))
                .until(() -> dropper.node().sitesView().contains(dropped));
        assertThat(Duration.ofNanos(System.nanoTime() - dropAt)).as("well before MERGE3's first round (20 s)")
                .isLessThan(Duration.ofSeconds(12));
    }
}
