package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.infinispan.context.Flag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.EntryRefusal;
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.EntryCodec;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * Site C revokes cluster B (B's intermediate leaves the bundle C holds for B, as a rotation that drops it or an
 * operator's revocation does). B's entries at C are purged the moment C re-judges them, long before their leases
 * lapse, and listeners (the egress, the ServiceImport writer) hear each removal; A, which still trusts B, keeps them;
 * whatever B writes next is refused at C. Real sites over RELAY2 with mutual TLS.
 */
class RevokedSitePurgeTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(String cluster, String name) {
        return new ExportSpec(new ServiceKey(cluster, "billing", name), List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain(cluster).workload("/ns/billing/sa/" + name)), 1);
    }

    @Test
    void aRevokedSitesEntriesArePurgedAtOnceNotLeftToTheirLeases() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> c.node().sitesView().size() == 3 && a.node().sitesView().size() == 3);
        ExportedService payments = b.registry().export(spec("cluster-b", "payments"));
        ExportedService ledger = b.registry().export(spec("cluster-b", "ledger"));
        ExportedService search = a.registry().export(spec("cluster-a", "search"));
        await().atMost(DEADLINE).until(() -> c.registry().get(ledger.key()).isPresent()
                && c.registry().get(search.key()).isPresent() && a.registry().get(ledger.key()).isPresent());
        List<ServiceKey> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        c.registry().addListener(new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
            }

            @Override
            public void unexported(ExportedService previous) {
                heard.add(previous.key());
            }
        });

        federation.revoke("cluster-b", "cluster-c");
        assertThat(c.registry().purgeRevoked()).isEqualTo(Map.of("cluster-b", 2));

        Instant now = Instant.now();
        assertThat(payments.stale(now)).as("B's leases still hold").isFalse();
        assertThat(c.registry().get(payments.key())).isEmpty();
        assertThat(c.registry().get(ledger.key())).isEmpty();
        assertThat(heard).containsExactlyInAnyOrder(payments.key(), ledger.key());
        assertThat(c.registry().get(search.key())).as("A is not revoked").isPresent();
        assertThat(a.registry().get(payments.key())).as("A still trusts B").isPresent();
        assertThat(c.registry().purgedRevoked()).isEqualTo(2);
        assertThat(c.registry().purgeRevoked()).as("nothing left to purge").isEmpty();

        // B writes on (its own signer is unchanged; this test leaves C's bridge to B open): A takes it, C refuses it.
        ExportedService audit = b.registry().export(spec("cluster-b", "audit"));
        await().atMost(DEADLINE).until(() -> a.registry().get(audit.key()).isPresent()
                && c.registry().refusals(EntryRefusal.SIGNER_NOT_TRUSTED) >= 1);
        assertThat(c.registry().get(audit.key())).isEmpty();
    }
    /**
     * A site that receives a peer's entry before it holds that peer's bundle (a replica whose first bundle fetch has
     * not succeeded yet, while the entries already reach it) refuses it, and no purge may remove it from its copy:
     * once the bundle arrives, the trust change uses it, without waiting for its owner to write it again.
     */
    @Test
    void anEntryThatArrivedBeforeItsOwnersBundleIsUsedOnceTheBundleArrives() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> c.node().sitesView().size() == 3 && b.node().sitesView().size() == 3);
        federation.forget("cluster-b", "cluster-c"); // C's fetch of B's bundle has not succeeded yet
        ExportedService ledger = b.registry().export(spec("cluster-b", "ledger"));
        await().atMost(DEADLINE).until(() -> a.registry().get(ledger.key()).isPresent()
                && c.registry().refusals(EntryRefusal.SIGNER_NOT_TRUSTED) >= 1);
        assertThat(c.registry().get(ledger.key())).isEmpty();
        List<ServiceKey> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        c.registry().addListener(new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                heard.add(current.key());
            }

            @Override
            public void unexported(ExportedService previous) {
            }
        });
        // Another trust change (say, A's bundle renewed) comes first: nothing of B was used, so nothing is purged.
        assertThat(c.registry().purgeRevoked()).isEmpty();
        assertThat(c.registry().admitNowTrusted()).isEmpty();

        federation.learn("cluster-b", "cluster-c"); // the fetch succeeds
        assertThat(c.registry().purgeRevoked()).isEmpty();
        assertThat(c.registry().admitNowTrusted()).isEqualTo(Map.of("cluster-b", 1));
        assertThat(c.registry().get(ledger.key())).isPresent();
        assertThat(heard).containsExactly(ledger.key());
        assertThat(c.registry().admitNowTrusted()).as("used once").isEmpty();
    }

    /**
     * A compromised gateway of cluster-a writes a record for cluster-b's key, signed with its own valid SVID. C refuses
     * it on arrival and keeps using B's genuine record, but the forgery stays in C's copy above it. The next trust
     * change (any bundle renewed) must not read the forgery's signer as a revoked one and purge B's genuine entry.
     */
    @Test
    void aForgedRecordRefusedOnArrivalDoesNotGetTheGenuineEntryPurged() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> c.node().sitesView().size() == 3 && b.node().sitesView().size() == 3);
        ExportedService ledger = b.registry().export(spec("cluster-b", "ledger"));
        await().atMost(DEADLINE).until(() -> c.registry().get(ledger.key()).isPresent());

        Instant now = Instant.now();
        ExportedService hijacked = new ExportedService(ledger.key(), ledger.ports(), ledger.identities(),
                new IngressAddress("attacker.gw.example", 15443), ledger.locality(), 9, ledger.revision() + 1, now,
                ledger.lease());
        String json = EntryCodec.encodeRecord(new RegistryRecord.Live(hijacked, now));
        SvidEntryTrust signerOfA = new SvidEntryTrust(() -> federation.svidOf("cluster-a"), federation.verifier(),
                Clock.systemUTC(), federation.owners());
        String forged = EntryCodec.envelope(json, signerOfA.sign(json.getBytes(StandardCharsets.UTF_8)));
        long refusedBefore = refusals(c);
        // As replication delivers it: into C's copy only.
        c.node().registryCache().getAdvancedCache().withFlags(Flag.CACHE_MODE_LOCAL, Flag.SKIP_XSITE_BACKUP)
                .put(EntryCodec.key(ledger.key()), forged);
        await("refused on arrival").atMost(DEADLINE).until(() -> refusals(c) > refusedBefore);
        assertThat(c.registry().get(ledger.key()).map(ExportedService::ingress)).contains(ledger.ingress());

        assertThat(c.registry().purgeRevoked()).as("nothing of B was revoked").isEmpty();
        assertThat(c.registry().get(ledger.key()).map(ExportedService::ingress)).contains(ledger.ingress());
    }

    private static long refusals(Site site) {
        return java.util.Arrays.stream(EntryRefusal.values()).mapToLong(site.registry()::refusals).sum();
    }
}
