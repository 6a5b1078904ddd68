package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.NotOwnerException;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * Three clusters as three Infinispan sites in one JVM. Each site has its own local JGroups cluster and cache
 * manager; they exchange data only through RELAY2 bridges over real TCP sockets with TLS 1.3 and mutual SVID
 * authentication on 127.0.0.1, so every assertion on B or C proves real cross-site traffic.
 */
class CrossSiteReplicationTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(String cluster, String name, int ready) {
        return new ExportSpec(new ServiceKey(cluster, "billing", name), List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain(cluster).workload("/ns/billing/sa/" + name)), ready);
    }

    private static Optional<ExportedService> seen(Site site, ServiceKey key) {
        return site.registry().get(key);
    }

    /**
     * Nagle's algorithm would hold a batch's last segment, or a site's answer, until the peer's delayed ACK (40 ms on
     * Linux), and cross-site replication waits for each answer before its next batch: every bridge socket, dialed or
     * accepted, sends at once.
     */
    @Test
    void bridgeConnectionsSendWithoutNagleDelay() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        ExportedService payments = a.registry().export(spec("cluster-a", "payments", 2));
        ExportedService search = b.registry().export(spec("cluster-b", "search", 1));
        await().atMost(DEADLINE).until(() -> seen(b, payments.key()).isPresent() && seen(a, search.key()).isPresent());
        for (Site site : List.of(a, b)) {
            assertThat(site.node().bridgeSockets()).as("bridge sockets of %s", site.name()).isNotEmpty()
                    .allSatisfy(s -> assertThat(s.getTcpNoDelay()).as("TCP_NODELAY on %s", s).isTrue());
        }
    }

    @Test
    void exportsReachEverySiteUnexportsVanishEverywhereAndARestartedSiteCatchesUp() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(a.node().sitesView()).containsExactlyInAnyOrder("cluster-a", "cluster-b", "cluster-c");
            assertThat(b.node().sitesView()).containsExactlyInAnyOrder("cluster-a", "cluster-b", "cluster-c");
            assertThat(c.node().sitesView()).containsExactlyInAnyOrder("cluster-a", "cluster-b", "cluster-c");
        });

        ExportedService payments = a.registry().export(spec("cluster-a", "payments", 2));
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(seen(b, payments.key())).contains(payments);
            assertThat(seen(c, payments.key())).contains(payments);
        });

        ExportedService ledger = a.registry().export(spec("cluster-a", "ledger", 1));
        await().atMost(DEADLINE).until(() -> seen(c, ledger.key()).isPresent() && seen(b, ledger.key()).isPresent());
        assertThat(a.registry().unexport(ledger.key())).isTrue();
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(seen(b, ledger.key())).isEmpty();
            assertThat(seen(c, ledger.key())).isEmpty();
        });

        // C goes away; A changes in every way while C is gone: a new export, an update, an unexport.
        ExportedService audit = a.registry().export(spec("cluster-a", "audit", 1));
        // catalog does not change while C is away: C, restarting empty, can only get it by state transfer.
        ExportedService catalog = a.registry().export(spec("cluster-a", "catalog", 1));
        await().atMost(DEADLINE).until(() -> seen(c, audit.key()).isPresent() && seen(c, catalog.key()).isPresent());
        federation.stop("cluster-c");
        await().atMost(DEADLINE).until(() -> !a.node().sitesView().contains("cluster-c"));
        ExportedService invoices = a.registry().export(spec("cluster-a", "invoices", 3));
        ExportedService paymentsV2 = a.registry().export(spec("cluster-a", "payments", 5));
        assertThat(paymentsV2.revision()).isEqualTo(payments.revision() + 1);
        a.registry().unexport(audit.key());
        ExportedService fromB = b.registry().export(spec("cluster-b", "search", 1));

        Site c2 = federation.start("cluster-c");
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(seen(c2, catalog.key())).contains(catalog);
            assertThat(seen(c2, invoices.key())).contains(invoices);
            assertThat(seen(c2, paymentsV2.key())).contains(paymentsV2);
            assertThat(seen(c2, fromB.key())).contains(fromB);
            assertThat(seen(c2, audit.key())).isEmpty();
            assertThat(seen(c2, ledger.key())).isEmpty();
        });
        assertThat(c2.registry().list(io.isthmus.registry.RegistryQuery.ALL)).extracting(e -> e.key().toString())
                .containsExactly("cluster-a/billing/catalog", "cluster-a/billing/invoices", "cluster-a/billing/payments", "cluster-b/billing/search");
        assertThat(c2.registry().lastUpdateByCluster()).containsKeys("cluster-a", "cluster-b");
    }

    /**
     * A site that restarts empty gets its own keys back from its peers' state transfer (the only copy of them left),
     * and counts on from their versions: its next update of a key it exported before its restart reaches every peer
     * (which would otherwise discard it as older than what they hold).
     */
    @Test
    void aRestartedSiteUpdatesItsOwnKeysAboveWhatItsPeersHold() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> a.node().sitesView().size() == 3 && b.node().sitesView().size() == 3);
        ExportedService orders = c.registry().export(spec("cluster-c", "orders", 1));
        ExportedService ordersV2 = c.registry().export(spec("cluster-c", "orders", 2));
        await().atMost(DEADLINE).until(() -> seen(a, orders.key()).equals(Optional.of(ordersV2))
                && seen(b, orders.key()).equals(Optional.of(ordersV2)));

        federation.stop("cluster-c");
        await().atMost(DEADLINE).until(() -> !a.node().sitesView().contains("cluster-c"));
        Site c2 = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> seen(c2, orders.key()).equals(Optional.of(ordersV2)));
        ExportedService ordersV3 = c2.registry().export(spec("cluster-c", "orders", 3));
        assertThat(ordersV3.revision()).isGreaterThan(ordersV2.revision());
        await("the restarted site's update at its peers").atMost(DEADLINE).untilAsserted(() -> {
            assertThat(seen(a, orders.key())).contains(ordersV3);
            assertThat(seen(b, orders.key())).contains(ordersV3);
        });
    }

    @Test
    void aSiteWritingAnotherClustersEntryOrMislabellingItsOwnIsIgnoredElsewhere() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).untilAsserted(() ->
                assertThat(a.node().sitesView()).containsExactlyInAnyOrder("cluster-a", "cluster-b", "cluster-c"));
        ExportedService genuine = c.registry().export(spec("cluster-c", "ledger", 1));
        await().atMost(DEADLINE).until(() -> seen(a, genuine.key()).isPresent());

        // B bypasses its own registry and writes the cache directly, as a compromised gateway could: it overwrites
        // C's ledger to point at B's ingress, invents a C entry, and files a C entry under one of its own keys.
        ExportedService hijack = new ExportedService(genuine.key(), genuine.ports(), genuine.identities(),
                b.registry().export(spec("cluster-b", "decoy", 1)).ingress(), genuine.locality(), 1,
                genuine.revision() + 1, java.time.Instant.now(), genuine.lease());
        ExportedService invented = new ExportedService(new ServiceKey("cluster-c", "billing", "invented"),
                hijack.ports(), List.of(), hijack.ingress(), hijack.locality(), 1, 1, hijack.heartbeat(), hijack.lease());
        var cache = b.node().registryCache();
        cache.put(io.isthmus.registry.store.EntryCodec.key(hijack.key()), io.isthmus.registry.store.EntryCodec.encode(hijack));
        cache.put(io.isthmus.registry.store.EntryCodec.key(invented.key()), io.isthmus.registry.store.EntryCodec.encode(invented));
        cache.put("cluster-b/billing/mislabelled", io.isthmus.registry.store.EntryCodec.encode(invented));
        ExportedService marker = b.registry().export(spec("cluster-b", "marker", 1));

        await().atMost(DEADLINE).until(() -> seen(a, marker.key()).isPresent());
        // C's own entry stays as C wrote it (C may have written it again, re-signed, after seeing the forgery).
        assertThat(seen(a, genuine.key())).as("C's own entry stays as C wrote it").hasValueSatisfying(e -> {
            assertThat(e.ingress()).isEqualTo(genuine.ingress());
            assertThat(e.revision()).isEqualTo(genuine.revision());
        });
        assertThat(seen(a, invented.key())).isEmpty();
        assertThat(a.registry().list(io.isthmus.registry.RegistryQuery.ALL)).extracting(e -> e.key().toString())
                .containsExactlyInAnyOrder("cluster-b/billing/decoy", "cluster-b/billing/marker", "cluster-c/billing/ledger");
        // The mislabelled entry always reaches A; the two under C's keys may be overtaken at B by C's repair first.
        assertThat(a.registry().refusals(io.isthmus.registry.signing.EntryRefusal.KEY_MISMATCH)).isEqualTo(1);
        assertThat(a.registry().refusedEntries()).isBetween(1L, 3L);

        // C's next write of its own entry is taken as usual.
        ExportedService renewed = c.registry().export(spec("cluster-c", "ledger", 2));
        // (By content: C's repair of the forged ledger may land after this write, as a re-signed copy of it.)
        await().atMost(DEADLINE).until(() -> seen(a, genuine.key()).map(e -> e.revision() == renewed.revision()
                && e.readyEndpoints() == renewed.readyEndpoints() && e.ingress().equals(renewed.ingress())).orElse(false));
    }

    @Test
    void refusesWritesToAnotherClustersKeys() {
        Site a = federation.start("cluster-a");
        Registry registry = a.registry();
        assertThatThrownBy(() -> registry.export(spec("cluster-b", "payments", 1)))
                .isInstanceOf(NotOwnerException.class)
                .hasMessageContaining("cluster 'cluster-a' may not write cluster-b/billing/payments");
        assertThatThrownBy(() -> registry.unexport(new ServiceKey("cluster-b", "billing", "payments")))
                .isInstanceOf(NotOwnerException.class);
    }
}
