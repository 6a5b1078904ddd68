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
 * TLS replicate each forgery to A and C. Each site refuses every forged record that reaches it, that very record (its
 * key and version, in the refusal log), keeps A's entries, and A writes its own records again so every cache heals.
 * Whether C receives a given forgery at all is a race: B's cross-site replication sends a key's latest state, and A's
 * repair can overtake the forgery at B. So C's cache is watched directly, and every forged value that arrived there
 * must have been refused; A, the owner, receives every forgery (it repairs only after receiving it).
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

        Arrivals atC = new Arrivals();
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

        // A, the owner, receives every forgery (B sends each one to it, and A repairs only after) and refuses each one:
        // that exact record, from B.
        await().atMost(DEADLINE).untilAsserted(() -> {
            forged.forEach((k, v) -> assertThat(refusedExactly(a, k, v)).as("A refused B's forged %s", k).isTrue());
            assertThat(refusedRemoval(a, "cluster-a/billing/ledger")).as("A refused the unsigned removal").isTrue();
        });
        // C refused every forged record that reached its cache (the rest were overtaken at B by A's repair), and the
        // unsigned removal if that reached it. Wait for A's repairs to land at C first, so every arrival was judged.
        await().atMost(DEADLINE).until(() -> forged.keySet().stream().allMatch(k -> c.node().registryCache().get(k) != null
                && signerOf(c.node().registryCache().get(k)).equals(TestFederation.gatewayId("cluster-a").toString())));
        int reachedC = 0;
        for (var f : forged.entrySet()) {
            if (atC.values.contains(f.getKey() + "=" + f.getValue())) {
                reachedC++;
                assertThat(refusedExactly(c, f.getKey(), f.getValue())).as("C refused B's forged %s", f.getKey()).isTrue();
            }
        }
        if (atC.removedKeys.contains("cluster-a/billing/ledger")) {
            reachedC++;
            assertThat(refusedRemoval(c, "cluster-a/billing/ledger")).as("C refused the unsigned removal").isTrue();
        }
        System.out.printf("ForgedEntriesTest: %d of %d forgeries reached C before A's repair; C refused each one%n",
                reachedC, forged.size() + 1);
        // A's records heal every cache: each site ends up holding A's own signed records, and the forged key removed.
        for (Site site : List.of(a, b, c)) {
            await().atMost(DEADLINE).untilAsserted(() -> {
                Cache<String, String> cache = site.node().registryCache();
                for (String k : List.of("cluster-a/billing/payments", "cluster-a/billing/ledger", "cluster-a/billing/catalog",
                        "cluster-a/billing/evil", "cluster-a/_isthmus/heartbeat")) {
                    assertThat(cache.get(k)).as("%s at %s", k, site.name()).isNotNull();
                    assertThat(signerOf(cache.get(k))).as("signer of %s at %s", k, site.name())
                            .isEqualTo(TestFederation.gatewayId("cluster-a").toString());
                }
                assertThat(EntryCodec.parseValue(cache.get("cluster-a/billing/evil")).record())
                        .isInstanceOf(RegistryRecord.Tombstone.class);
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
