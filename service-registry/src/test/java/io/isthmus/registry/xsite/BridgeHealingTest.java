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
 * erroneous suspicion does, or a member excludes its live coordinator. Seen in IntermediateRotationE2ETest: east's
 * bridge lost west 3 s after both started and got it back 24 s later, and west's leases of east's exports lapsed
 * meanwhile.
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
        awaitBridge(a, b);

        Bridge coordinator = bridge(a, b, true);
        Bridge member = bridge(a, b, false);
        // An erroneous suspicion that got past verification: the coordinator excludes the live member.
        dropAndAwaitMerge(coordinator, member);
    }

    /**
     * The case the coordinator's own check cannot heal alone: the member takes over from a live coordinator whose
     * address sorts first. JGroups lets only the lowest-addressed coordinator among the partitions lead a merge, and
     * that is the old coordinator, which still holds the old view and would notice nothing until its own round (64 s
     * here). It must hear from the other side and check at once.
     */
    @Test
    void aMemberThatTakesOverFromALiveCoordinatorIsMergedBackEvenWhenTheCoordinatorLeadsTheMerge() {
        Site a = start("cluster-a", "cluster-b");
        Site b = start("cluster-b", "cluster-a");
        awaitBridge(a, b);

        if (bridge(a, b, true).address().compareTo(bridge(a, b, false).address()) > 0) {
            // The coordinator sorts last: have the member (which sorts first, so leads the merge) take over once.
            // After any merge the lowest address coordinates.
            dropAndAwaitMerge(bridge(a, b, false), bridge(a, b, true));
        }
        Bridge coordinator = bridge(a, b, true);
        Bridge member = bridge(a, b, false);
        assertThat(coordinator.address().compareTo(member.address())).as("the coordinator sorts first").isNegative();

        dropAndAwaitMerge(member, coordinator);
    }

    /** A site's bridge member: its GMS, address and site. */
    private record Bridge(GMS gms, Address address, Site site, String siteName) {
    }

    private static void awaitBridge(Site a, Site b) {
        await("the bridge forms").atMost(Duration.ofSeconds(90)).until(() -> a.node().sitesView().contains("cluster-b")
                && b.node().sitesView().contains("cluster-a"));
    }

    /** The bridge member of {@code a} or {@code b} that coordinates the bridge ({@code coordinator}) or does not. */
    private static Bridge bridge(Site a, Site b, boolean coordinator) {
        await("one bridge member coordinates, and the view holds both sites").atMost(Duration.ofSeconds(10))
                .until(() -> find(a, b, true) != null && find(a, b, true).gms().view().size() == 2);
        Bridge found = find(a, b, coordinator);
        assertThat(found).as(coordinator ? "the bridge coordinator" : "the bridge member").isNotNull();
        return found;
    }

    private static Bridge find(Site a, Site b, boolean coordinator) {
        for (Site s : List.of(a, b)) {
            for (TlsTcp tcp : s.node().bridgeTransportsForTest()) {
                GMS gms = tcp.getProtocolStack().findProtocol(GMS.class);
                if (gms != null && gms.view() != null && gms.isCoord() == coordinator) {
                    return new Bridge(gms, tcp.getAddress(), s, s == a ? "cluster-a" : "cluster-b");
                }
            }
        }
        return null;
    }

    /** {@code dropper} excludes the live {@code dropped}, as an erroneous suspicion that got past verification does. */
    private static void dropAndAwaitMerge(Bridge dropper, Bridge dropped) {
        dropper.gms().up(new Event(Event.SUSPECT, List.of(dropped.address())));
        await(dropper.siteName() + " drops " + dropped.siteName()).atMost(Duration.ofSeconds(10))
                .until(() -> !dropper.site().node().sitesView().contains(dropped.siteName()));
        long dropAt = System.nanoTime();

        await(dropped.siteName() + " is merged back").atMost(Duration.ofSeconds(12))
                .until(() -> dropper.site().node().sitesView().contains(dropped.siteName())
                        && dropped.site().node().sitesView().contains(dropper.siteName())
                        && dropper.gms().view().size() == 2 && dropped.gms().view().size() == 2
                        && dropper.gms().view().getViewId().equals(dropped.gms().view().getViewId()));
        assertThat(Duration.ofNanos(System.nanoTime() - dropAt)).as("well before MERGE3's first round (20 s)")
                .isLessThan(Duration.ofSeconds(12));
    }
}
