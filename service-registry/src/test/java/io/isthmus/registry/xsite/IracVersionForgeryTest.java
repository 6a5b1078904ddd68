package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.infinispan.commons.util.IntSet;
import org.infinispan.container.versioning.irac.IracEntryVersion;
import org.infinispan.container.versioning.irac.TopologyIracVersion;
import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.metadata.EmbeddedMetadata;
import org.infinispan.metadata.impl.IracMetadata;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.util.ByteString;
import org.infinispan.xsite.XSiteBackup;
import org.infinispan.xsite.commands.remote.IracPutManyRequest;
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
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.EntryCodec;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * A compromised gateway of cluster-a (its SVID is valid, so the bridge admits it) sends cluster-c, over its own bridge
 * connection, an asynchronous cross-site update of cluster-b's key, as Infinispan's IRAC sends one, but with a
 * cross-site version of its choosing. C's registry refuses the record itself on arrival (signed by A), but the cache
 * keeps it, with that version: every genuine update of B's that IRAC then orders before it would be discarded at C,
 * so B's entry there would never change again and its lease would lapse. B's genuine update must reach C whatever
 * version the forger claimed: one that dominates every version B will ever write (B's own site, the highest topology
 * and counter), or one concurrent with B's that wins Infinispan's merge policy (the lower site name).
 */
class IracVersionForgeryTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b",
            "cluster-c");

    @AfterEach
    void close() {
        federation.close();
    }

    private static ExportSpec spec(int readyEndpoints) {
        return new ExportSpec(new ServiceKey("cluster-b", "billing", "ledger"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(TestFederation.trustDomain("cluster-b").workload("/ns/billing/sa/ledger")), readyEndpoints);
    }

    private static IracMetadata claiming(String site, int topology, long counter) {
        return new IracMetadata(site, IracEntryVersion.newVersion(ByteString.fromString(site),
                TopologyIracVersion.create(topology, counter)));
    }

    @Test
    void aVersionClaimedForTheOwnersSiteDoesNotHoldBackItsGenuineUpdates() {
        genuineUpdatesReachCAfterAForgery(claiming("cluster-b", Integer.MAX_VALUE, Long.MAX_VALUE));
    }

    @Test
    void aConcurrentVersionThatWinsTheMergePolicyDoesNotHoldBackTheOwnersGenuineUpdates() {
        genuineUpdatesReachCAfterAForgery(claiming("cluster-a", Integer.MAX_VALUE, Long.MAX_VALUE));
    }

    private void genuineUpdatesReachCAfterAForgery(IracMetadata forgedVersion) {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        Site c = federation.start("cluster-c");
        await().atMost(DEADLINE).until(() -> a.node().sitesView().size() == 3 && b.node().sitesView().size() == 3
                && c.node().sitesView().size() == 3);
        ExportedService ledger = b.registry().export(spec(1));
        await().atMost(DEADLINE).until(() -> c.registry().get(ledger.key()).isPresent()
                && a.registry().get(ledger.key()).isPresent());

        long refusedBefore = refusals(c);
        IntSet failed = sendOverTheBridge(a, "cluster-c", EntryCodec.key(ledger.key()), hijackedByA(ledger),
                forgedVersion);
        // C answers once it applied or dropped the update (its registry judges what the cache takes on that thread).
        System.out.printf("IracVersionForgeryTest: C answered A's forged update %s of %s (failed keys %s); C's"
                + " registry refused %d record(s) meanwhile%n", forgedVersion, ledger.key(), failed,
                refusals(c) - refusedBefore);
        assertThat(c.registry().get(ledger.key()).map(ExportedService::ingress)).contains(ledger.ingress());
        assertThat(refusals(c) - refusedBefore).as("records C's registry had to refuse: the forgery never entered its"
                + " cache").isZero();

        // B's genuine update (three endpoints ready now) reaches A, and must reach C too.
        ExportedService updated = b.registry().export(spec(3));
        assertThat(updated.revision()).isGreaterThan(ledger.revision());
        await().atMost(DEADLINE).until(() -> a.registry().get(ledger.key())
                .map(e -> e.revision() == updated.revision()).orElse(false));
        await("B's genuine update at C").atMost(DEADLINE).untilAsserted(() ->
                assertThat(c.registry().get(ledger.key())).hasValueSatisfying(e -> {
                    assertThat(e.revision()).as("revision of B's entry at C").isEqualTo(updated.revision());
                    assertThat(e.readyEndpoints()).isEqualTo(3);
                }));
    }

    /** What A's compromised gateway can make of B's key: any record, signed with A's own (valid) SVID. */
    private String hijackedByA(ExportedService genuine) {
        Instant now = Instant.now();
        ExportedService hijacked = new ExportedService(genuine.key(), genuine.ports(), genuine.identities(),
                new IngressAddress("attacker.gw.example", 15443), genuine.locality(), 9, genuine.revision() + 1, now,
                genuine.lease());
        String json = EntryCodec.encodeRecord(new RegistryRecord.Live(hijacked, now));
        SvidEntryTrust signerOfA = new SvidEntryTrust(() -> federation.svidOf("cluster-a"), federation.verifier(),
                Clock.systemUTC(), federation.owners());
        return EntryCodec.envelope(json, signerOfA.sign(json.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Sends {@code to} the cross-site update IRAC would send for {@code key}, with {@code version}, from {@code from}'s
     * cache manager over its bridge; returns the positions of the keys the receiver failed (empty: it was applied or
     * discarded by the receiver's IRAC ordering).
     */
    private static IntSet sendOverTheBridge(Site from, String to, String key, String value, IracMetadata version) {
        Transport transport = GlobalComponentRegistry.componentOf(from.node().cacheManager(), Transport.class);
        IracPutManyRequest request = new IracPutManyRequest(ByteString.fromString(RegistryNode.REGISTRY_CACHE), 1);
        request.addUpdate(key, value, new EmbeddedMetadata.Builder().build(), version);
        try {
            return transport.backupRemotely(new XSiteBackup(to, true, 10_000), request).toCompletableFuture()
                    .get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the forged update did not go over the bridge to " + to + ": " + e, e);
        }
    }

    private static long refusals(Site site) {
        return java.util.Arrays.stream(EntryRefusal.values()).mapToLong(site.registry()::refusals).sum();
    }
}
