package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * The registry follows a membership change at run time, in three real Infinispan sites bridged over TLS: A and B
 * start knowing only each other; C starts knowing all three (a new member). Once A and B take C as a peer (their
 * cache restarted with C as a backup site, nothing else restarted), exports flow both ways with C, and what A and B
 * held is still there and never vanished from their index meanwhile. Then C is removed: its entries are purged at A
 * and B, and its bridge connections to them are closed.
 */
class MembershipReconfigurationTest {
    private static final Duration DEADLINE = Duration.ofSeconds(45);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(String cluster, String name) {
        return new ExportSpec(new ServiceKey(cluster, "billing", name), List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain(cluster).workload("/ns/billing/sa/" + name)), 1);
    }

    private Site start(String site, String... peers) {
        return federation.start(site, federation.settingsWithPeers(site, peers), federation.svidOf(site));
    }

    private static void takePeers(Site site, TestFederation federation, String... peers) {
        if (site.node().reconfigure(federation.peerSites(site.name(), peers))) {
            site.registry().restartCache(site.node()::restartRegistryCache);
        }
    }

    @Test
    void aSiteJoinsAndLeavesWithoutARestart() throws Exception {
        Site a = start("cluster-a", "cluster-b");
        Site b = start("cluster-b", "cluster-a");
        Site c = start("cluster-c", "cluster-a", "cluster-b");
        ExportedService fromA = a.registry().export(spec("cluster-a", "payments"));
        ExportedService fromB = b.registry().export(spec("cluster-b", "ledger"));
        await().atMost(DEADLINE).until(() -> a.registry().get(fromB.key()).isPresent()
                && b.registry().get(fromA.key()).isPresent());
        ExportedService fromC = c.registry().export(spec("cluster-c", "audit"));

        // While A's cache restarts, its index keeps answering for B's export: routing never misses it.
        AtomicBoolean watching = new AtomicBoolean(true);
        AtomicInteger misses = new AtomicInteger();
        Thread watcher = Thread.ofPlatform().start(() -> {
            while (watching.get()) {
                if (a.registry().get(fromB.key()).isEmpty()) {
                    misses.incrementAndGet();
                }
                Thread.onSpinWait();
            }
        });
        takePeers(a, federation, "cluster-b", "cluster-c");
        takePeers(b, federation, "cluster-a", "cluster-c");
        watching.set(false);
        watcher.join();
        assertThat(misses).as("lookups of B's export at A that found nothing during the restart").hasValue(0);
        assertThat(a.registry().get(fromB.key())).as("B's export carried over A's restart").contains(fromB);

        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(a.node().sitesView()).contains("cluster-c");
            assertThat(a.registry().get(fromC.key())).contains(fromC);
            assertThat(b.registry().get(fromC.key())).contains(fromC);
            assertThat(c.registry().get(fromA.key())).isPresent();
            assertThat(c.registry().get(fromB.key())).isPresent();
        });
        // A new export of A reaches C directly: C is one of A's backup sites now.
        ExportedService later = a.registry().export(spec("cluster-a", "invoices"));
        await().atMost(DEADLINE).until(() -> c.registry().get(later.key()).isPresent());

        // C leaves: A and B forget its bundle, take it out of their peers and purge its entries.
        federation.forget("cluster-c", "cluster-a", "cluster-b");
        for (Site s : List.of(a, b)) {
            takePeers(s, federation, s == a ? "cluster-b" : "cluster-a");
            assertThat(s.registry().purge("cluster-c")).isEqualTo(1);
            assertThat(s.registry().get(fromC.key())).isEmpty();
            s.node().revalidatePeers().get();
        }
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(a.node().sitesView()).doesNotContain("cluster-c");
            assertThat(b.node().sitesView()).doesNotContain("cluster-c");
        });
        ExportedService afterRemoval = c.registry().export(spec("cluster-c", "shadow"));
        ExportedService stillFlowing = a.registry().export(spec("cluster-a", "after"));
        await().atMost(DEADLINE).until(() -> b.registry().get(stillFlowing.key()).isPresent());
        assertThat(a.registry().get(afterRemoval.key())).as("C's writes no longer reach A").isEmpty();
        assertThat(b.registry().get(afterRemoval.key())).isEmpty();
    }
}
