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
 * signed removal. Real sites bridged by RELAY2 over mutual TLS replicate each forgery to A and C; both refuse every
 * one, keep A's entries, count and log them, and A writes its own records again so every cache heals.
 */
class ForgedEntriesTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

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

        X509Svid svidOfB = federation.svidOf("cluster-b");
        Cache<String, String> atB = b.node().registryCache();
        Instant now = Instant.now();
        ExportedService hijacked = new ExportedService(payments.key(), payments.ports(), payments.identities(),
                new IngressAddress("attacker.gw.example", 15443), payments.locality(), 9, payments.revision() + 1, now,
                payments.lease());
        atB.put("cluster-a/billing/payments", forgedByB(svidOfB, new RegistryRecord.Live(hijacked, now)));
        ExportedService inserted = new ExportedService(new ServiceKey("cluster-a", "billing", "evil"), payments.ports(),
                List.of(), new IngressAddress("attacker.gw.example", 15443), payments.locality(), 1, 1, now, payments.lease());
        atB.put("cluster-a/billing/evil", forgedByB(svidOfB, new RegistryRecord.Live(inserted, now)));
        atB.remove("cluster-a/billing/ledger");
        atB.put("cluster-a/billing/catalog", forgedByB(svidOfB,
                new RegistryRecord.Tombstone(catalog.key(), catalog.revision() + 1, now)));

        // A, the owner, sees every forgery (B sends each one to it). C sees those that B's cross-site replication sends
        // before A's repair of the same key overtakes them at B (replication carries a key's latest state, not every
        // change): at least one.
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(a.registry().refusals(EntryRefusal.WRITTEN_BY_OTHER_SITE)).isGreaterThanOrEqualTo(3);
            assertThat(a.registry().refusals(EntryRefusal.UNSIGNED_REMOVAL)).isGreaterThanOrEqualTo(1);
            assertThat(c.registry().refusedEntries()).isPositive();
        });
        // A's records heal every cache: each site ends up holding A's own signed records, and the forged key removed.
        for (Site site : List.of(a, b, c)) {
            await().atMost(DEADLINE).untilAsserted(() -> {
                Cache<String, String> cache = site.node().registryCache();
                for (String k : List.of("cluster-a/billing/payments", "cluster-a/billing/ledger", "cluster-a/billing/catalog",
                        "cluster-a/billing/evil")) {
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
