package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.infinispan.Cache;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.EntryRefusal;
import io.isthmus.registry.signing.SignedRecord;
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.EntryCodec;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;

/**
 * A compromised gateway of cluster B writes straight into its own registry cache (bypassing every check of its
 * registry) records of cluster A: an overwrite re-signed with B's own SVID, an insertion, an unsigned removal and a
 * signed removal, and a heartbeat of A's (which would renew all of A's leases). Real sites bridged by RELAY2 over mutual
 * TLS send each forgery to A and C. C, a third site, drops every one on arrival: a peer's write of another cluster's
 * key never enters its cache ({@link OwnerWrites}). A, the owner, takes its own keys back from a peer (as when it
 * rejoins and its peers push their state): its registry refuses each forged record, that very record (its key and
 * version, in the refusal log), keeps its entries, and writes its own records again, so every cache heals.
 */
class ForgedEntriesTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

    /** Every value and removal a site's cache received, as the cache saw it (before the registry judged it). */
    @org.infinispan.notifications.Listener(observation = org.infinispan.notifications.Listener.Observation.POST)
    public static final class Arrivals {
        final java.util.Set<String> values = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final java.util.Set<String> removedKeys = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated
        public void created(org.infinispan.notifications.cachelistener.event.CacheEntryCreatedEvent<String, String> e) {
            values.add(e.getKey() + "=" + e.getValue());
        }

        @org.infinispan.notifications.cachelistener.annotation.CacheEntryModified
        public void modified(org.infinispan.notifications.cachelistener.event.CacheEntryModifiedEvent<String, String> e) {
            values.add(e.getKey() + "=" + e.getNewValue());
        }

        @org.infinispan.notifications.cachelistener.annotation.CacheEntryRemoved
        public void removed(org.infinispan.notifications.cachelistener.event.CacheEntryRemovedEvent<String, String> e) {
            removedKeys.add(e.getKey());
        }
    }

    private static boolean refusedExactly(Site site, String key, String value) {
        io.isthmus.registry.EntryVersion version = EntryCodec.parseValue(value).record().version();
        return site.registry().refusedRecords().stream().anyMatch(r -> r.cacheKey().equals(key)
                && r.version().equals(java.util.Optional.of(version)) && r.site().equals("cluster-b"));
    }

    private static boolean refusedRemoval(Site site, String key) {
        return site.registry().refusedRecords().stream().anyMatch(r -> r.cacheKey().equals(key)
                && r.reason() == EntryRefusal.UNSIGNED_REMOVAL);
    }

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(String name) {
        return new ExportSpec(new ServiceKey("cluster-a", "billing", name), List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain("cluster-a").workload("/ns/billing/sa/" + name)), 1);
    }

    /** What B's compromised gateway can make: any record, signed with its own (valid) SVID. */
    private String forgedByB(X509Svid svidOfB, RegistryRecord record) {
        String json = EntryCodec.encodeRecord(record);
        SvidEntryTrust signer = new SvidEntryTrust(() -> svidOfB, federation.verifier(), Clock.systemUTC(),
                federation.owners());
        return EntryCodec.envelope(json, signer.sign(json.getBytes(StandardCharsets.UTF_8)));
    }

    private static String signerOf(String value) {
        SignedRecord r = EntryCodec.parseValue(value);
        return Certificates.uriSans(r.signature().orElseThrow().signer()).get(0);
    }

    @Test
    void aCompromisedSiteCannotInsertOverwriteOrRemoveAnotherClustersEntries() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> a.node().sitesView().size() == 3 && b.node().sitesView().size() == 3
                && c.node().sitesView().size() == 3);
        ExportedService payments = a.registry().export(spec("payments"));
        ExportedService ledger = a.registry().export(spec("ledger"));
        ExportedService catalog = a.registry().export(spec("catalog"));
        await().atMost(DEADLINE).until(() -> c.registry().get(catalog.key()).isPresent()
                && b.registry().get(catalog.key()).isPresent());

        Arrivals atA = new Arrivals();
        Arrivals atC = new Arrivals();
        a.node().registryCache().addListener(atA);
        c.node().registryCache().addListener(atC);
        X509Svid svidOfB = federation.svidOf("cluster-b");
        Cache<String, String> atB = b.node().registryCache();
        Instant now = Instant.now();
        ExportedService hijacked = new ExportedService(payments.key(), payments.ports(), payments.identities(),
                new IngressAddress("attacker.gw.example", 15443), payments.locality(), 9, payments.revision() + 1, now,
                payments.lease());
        java.util.Map<String, String> forged = new java.util.LinkedHashMap<>();
        forged.put("cluster-a/billing/payments", forgedByB(svidOfB, new RegistryRecord.Live(hijacked, now)));
        ExportedService inserted = new ExportedService(new ServiceKey("cluster-a", "billing", "evil"), payments.ports(),
                List.of(), new IngressAddress("attacker.gw.example", 15443), payments.locality(), 1, 1, now, payments.lease());
        forged.put("cluster-a/billing/evil", forgedByB(svidOfB, new RegistryRecord.Live(inserted, now)));
        forged.put("cluster-a/billing/catalog", forgedByB(svidOfB,
                new RegistryRecord.Tombstone(catalog.key(), catalog.revision() + 1, now)));
        // A heartbeat of A's, covering everything A ever signed, a day ahead: it would keep A's entries alive for ever.
        forged.put("cluster-a/_isthmus/heartbeat", forgedByB(svidOfB, new RegistryRecord.SiteHeartbeat("cluster-a",
                now, now.minus(Duration.ofDays(1)))));
        forged.forEach(atB::put);
        atB.remove("cluster-a/billing/ledger");
        // Then a genuine export of B's own, sent after the forgeries.
        ExportedService own = b.registry().export(new ExportSpec(new ServiceKey("cluster-b", "billing", "audit"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain("cluster-b").workload("/ns/billing/sa/audit")), 1));
        await().atMost(DEADLINE).until(() -> a.registry().get(own.key()).isPresent()
                && c.registry().get(own.key()).isPresent());

        // None of them entered C's cache: a third site's keys are taken from their owner only.
        await().during(Duration.ofSeconds(2)).atMost(DEADLINE).untilAsserted(() -> {
            for (var f : forged.entrySet()) {
                assertThat(atC.values).as("B's forged %s in C's cache", f.getKey())
                        .doesNotContain(f.getKey() + "=" + f.getValue());
            }
            assertThat(atC.removedKeys).as("B's removal of A's ledger in C's cache")
                    .doesNotContain("cluster-a/billing/ledger");
        });
        assertThat(c.registry().refusedRecords()).as("records C's registry had to refuse").isEmpty();
        // A takes its own keys back from a peer, ordered by A's own count: a forgery that did not count above A's own
        // writes is discarded; one that entered A's cache is refused by A's registry, that exact record, from B, and
        // A writes its own record again.
        int enteredA = 0;
        for (var f : forged.entrySet()) {
            if (atA.values.contains(f.getKey() + "=" + f.getValue())) {
                enteredA++;
                await().atMost(DEADLINE).until(() -> refusedExactly(a, f.getKey(), f.getValue()));
            }
        }
        if (atA.removedKeys.contains("cluster-a/billing/ledger")) {
            enteredA++;
            await().atMost(DEADLINE).until(() -> refusedRemoval(a, "cluster-a/billing/ledger"));
        }
        System.out.printf("ForgedEntriesTest: %d of %d forgeries entered A's cache, each refused; none entered C's;"
                + " cross-site writes refused on arrival: A %d, C %d%n", enteredA, forged.size() + 1,
                a.node().refusedCrossSiteWrites(), c.node().refusedCrossSiteWrites());
        // The victims' caches hold A's own signed records.
        for (Site site : List.of(a, c)) {
            await().atMost(DEADLINE).untilAsserted(() -> {
                Cache<String, String> cache = site.node().registryCache();
                for (String k : List.of("cluster-a/billing/payments", "cluster-a/billing/ledger",
                        "cluster-a/billing/catalog")) {
                    assertThat(cache.get(k)).as("%s at %s", k, site.name()).isNotNull();
                    assertThat(signerOf(cache.get(k))).as("signer of %s at %s", k, site.name())
                            .isEqualTo(TestFederation.gatewayId("cluster-a").toString());
                }
                String evil = cache.get("cluster-a/billing/evil");
                if (evil != null) {
                    assertThat(signerOf(evil)).as("signer of evil at %s", site.name())
                            .isEqualTo(TestFederation.gatewayId("cluster-a").toString());
                }
            });
        }
        // Throughout, the victims used only A's own entries.
        for (Site victim : List.of(a, c)) {
            assertThat(victim.registry().get(payments.key())).hasValueSatisfying(e -> {
                assertThat(e.ingress()).isEqualTo(payments.ingress());
                assertThat(e.revision()).isEqualTo(payments.revision());
            });
            assertThat(victim.registry().get(ledger.key())).isPresent();
            assertThat(victim.registry().get(catalog.key())).isPresent();
            assertThat(victim.registry().get(inserted.key())).isEmpty();
        }
        // B's own registry (compromised cache aside) saw A's repairs too.
        await().atMost(DEADLINE).until(() -> b.registry().get(payments.key())
                .map(e -> e.ingress().equals(payments.ingress())).orElse(false));
    }
}
