package io.isthmus.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.LeaseKeeper;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.MutableClock;

/** Registry semantics on a local (single-node) cache with a controlled clock: revisions, leases, resolution. */
class InfinispanRegistryTest {
    private final MutableClock clock = MutableClock.now();
    private final DefaultCacheManager cm = localCacheManager();
    private final ClusterIdentity identity = new ClusterIdentity("cluster-a", new IngressAddress("a.gw.example", 15443),
            new Locality("eu-west", "eu-west-1a"), Duration.ofSeconds(30), MeshName.DEFAULT_SUFFIX);
    private final InfinispanRegistry registry = new InfinispanRegistry(cm.<String, String>getCache("registry"), identity, clock);

    private static DefaultCacheManager localCacheManager() {
        DefaultCacheManager m = new DefaultCacheManager();
        m.defineConfiguration("registry", new org.infinispan.configuration.cache.ConfigurationBuilder().build());
        return m;
    }

    @AfterEach
    void close() {
        registry.close();
        cm.stop();
    }

    private static ExportSpec spec(int ready) {
        return new ExportSpec(new ServiceKey("cluster-a", "billing", "payments"),
                List.of(new ServicePort("grpc", 9090, Protocol.GRPC), new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(SpiffeId.parse("spiffe://cluster-a.acme.internal/ns/billing/sa/payments")), ready);
    }

    @Test
    void encodesEveryFieldAndDecodesItBack() {
        ExportedService e = registry.export(spec(2));
        assertThat(EntryCodec.decode(EntryCodec.encode(e))).isEqualTo(e);
        assertThat(EntryCodec.parseKey(EntryCodec.key(e.key()))).isEqualTo(e.key());
    }

    @Test
    void revisionGrowsOnlyWhenContentChanges() {
        assertThat(registry.export(spec(2)).revision()).isEqualTo(1);
        clock.advance(Duration.ofSeconds(5));
        ExportedService same = registry.export(spec(2));
        assertThat(same.revision()).isEqualTo(1);
        assertThat(same.heartbeat()).isEqualTo(clock.instant());
        assertThat(registry.export(spec(0)).revision()).isEqualTo(2);
    }

    @Test
    void lapsedLeaseKeepsTheEntryVisibleButUnroutableUntilTheNextHeartbeat() {
        RegistryResolver resolver = new RegistryResolver(registry, clock);
        MeshName name = MeshName.of("payments", "billing");
        registry.export(spec(2));
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).hasSize(1);

        clock.advance(Duration.ofSeconds(31));
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).isEmpty();
        assertThat(registry.list(new RegistryQuery(Optional.empty(), Optional.empty(), Optional.of(true)))).hasSize(1);
        LeaseKeeper keeper = new LeaseKeeper(registry, clock);
        assertThat(registry.exportsOf(name)).singleElement().satisfies(e -> assertThat(e.stale(clock.instant())).isTrue());

        keeper.tick();
        assertThat(keeper.staleEntries()).isZero();
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).hasSize(1);
        assertThat(registry.list(new RegistryQuery(Optional.of("billing"), Optional.of("cluster-a"), Optional.of(false)))).hasSize(1);
        assertThat(registry.list(new RegistryQuery(Optional.of("other"), Optional.empty(), Optional.empty()))).isEmpty();
    }

    @Test
    void aRoundAskedForRunsAtOnceOnTheKeepersThreadWithoutWaitingForTheInterval() {
        registry.export(spec(2));
        LeaseKeeper keeper = new LeaseKeeper(registry, clock);
        keeper.tickSoon();
        assertThat(keeper.lastHeartbeat()).as("not started: nothing runs").isNull();
        keeper.start(Duration.ofHours(1));
        try {
            keeper.tickSoon();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> keeper.lastHeartbeat() != null);
        } finally {
            keeper.close();
        }
        keeper.tickSoon(); // closed: refused quietly, not a RejectedExecutionException
    }

    @Test
    void noReadyEndpointsMeansNotRoutable() {
        registry.export(spec(0));
        assertThat(new RegistryResolver(registry, clock).resolve(MeshName.of("payments", "billing"), Locality.UNKNOWN)).isEmpty();
    }

    @Test
    void withTheFederationsClustersOnlyTheirExportsAreOfferedAndEachNamesItsTrustDomain() {
        registry.export(spec(2));
        MeshName name = MeshName.of("payments", "billing");
        RegistryResolver known = new RegistryResolver(registry, clock,
                java.util.Map.of("cluster-a", new io.isthmus.trust.spiffe.TrustDomain("cluster-a.acme.internal")));
        assertThat(known.resolve(name, Locality.UNKNOWN)).hasSize(1);
        assertThat(known.trustDomainOf("cluster-a")).contains(new io.isthmus.trust.spiffe.TrustDomain("cluster-a.acme.internal"));
        assertThat(known.trustDomainOf("cluster-x")).isEmpty();

        RegistryResolver other = new RegistryResolver(registry, clock,
                java.util.Map.of("cluster-b", new io.isthmus.trust.spiffe.TrustDomain("cluster-b.acme.internal")));
        assertThat(other.resolve(name, Locality.UNKNOWN)).as("cluster-a is not a configured cluster").isEmpty();
        assertThat(new RegistryResolver(registry, clock).trustDomainOf("cluster-a")).as("no pinning").isEmpty();
    }

    @Test
    void listenersHearExportsUpdatesAndUnexports() {
        List<String> events = new CopyOnWriteArrayList<>();
        registry.addListener(new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                events.add((previous == null ? "created " : "updated ") + current.key() + "@" + current.revision());
            }

            @Override
            public void unexported(ExportedService previous) {
                events.add("removed " + previous.key());
            }
        });
        registry.export(spec(1));
        registry.export(spec(3));
        registry.unexport(spec(1).key());
        assertThat(events).containsExactly("created cluster-a/billing/payments@1", "updated cluster-a/billing/payments@2",
                "removed cluster-a/billing/payments");
        assertThat(registry.get(spec(1).key())).isEmpty();
    }

    private static ExportSpec spec(String name) {
        return new ExportSpec(new ServiceKey("cluster-a", "billing", name), spec(1).ports(), spec(1).identities(), 1);
    }

    private java.util.Map<String, String> stored() {
        return new java.util.TreeMap<>(cm.<String, String>getCache("registry"));
    }

    /** What {@code manager}'s registry cache holds now, without cluster-a's heartbeat (signed again every round). */
    private static java.util.Map<String, String> entriesBesideHeartbeat(DefaultCacheManager manager) {
        java.util.Map<String, String> entries = new java.util.TreeMap<>(manager.<String, String>getCache("registry"));
        entries.remove("cluster-a/_isthmus/heartbeat");
        return entries;
    }

    @Test
    void aHeartbeatRenewsEveryLeaseWithOneSignedRecordAndReSignsOnlyOldEntries() {
        for (int i = 0; i < 50; i++) {
            registry.export(spec("svc-" + i));
        }
        LeaseKeeper keeper = new LeaseKeeper(registry, clock);
        // The first two leases after start re-assert every entry (a restarted gateway's entries coming back to it).
        clock.advance(Duration.ofSeconds(61));
        keeper.tick();
        java.util.Map<String, String> exported = entriesBesideHeartbeat(cm);
        for (int round = 1; round <= 4; round++) {
            clock.advance(Duration.ofSeconds(20));
            keeper.tick();
            assertThat(keeper.staleEntries()).as("round %d", round).isZero();
        }
        // 141 s on, far past the 30 s lease: every entry is fresh, and none was signed again (same values).
        java.util.Map<String, String> now = entriesBesideHeartbeat(cm);
        assertThat(now).isEqualTo(exported);
        assertThat(registry.list(RegistryQuery.cluster("cluster-a")))
                .allSatisfy(e -> assertThat(e.heartbeat()).isEqualTo(clock.instant()));
        // Past five leases, each entry is signed again (the heartbeat then covers it from its new signature).
        clock.advance(Duration.ofSeconds(40));
        keeper.tick();
        assertThat(stored()).allSatisfy((k, v) -> assertThat(v).isNotEqualTo(exported.get(k)));
        assertThat(keeper.staleEntries()).isZero();
    }

    @Test
    void whenTheSigningCaChangesTheNextHeartbeatSignsEveryOwnEntryAgainUnderTheNewCa() throws Exception {
        // An intermediate rotation: the gateway's SVID moves to the next intermediate. Entries signed under the old one
        // must be signed again before it leaves the bundles, or every peer refuses and purges them (TrustRotationE2ETest
        // saw 404 unknown-service for 40 s), however young they are.
        io.isthmus.trust.testing.TestCa pki = io.isthmus.trust.testing.TestCa.create();
        io.isthmus.trust.ca.CaCredential first = pki.intermediate("cluster-a.acme.internal");
        io.isthmus.trust.ca.CaCredential next = pki.intermediate("cluster-a.acme.internal");
        String gateway = "spiffe://cluster-a.acme.internal/ns/isthmus-system/sa/isthmus-gateway";
        var svid = new java.util.concurrent.atomic.AtomicReference<>(io.isthmus.trust.testing.TestCa.svid(first, gateway));
        var bundles = io.isthmus.trust.bundle.BundleSet.of(List.of(new io.isthmus.trust.bundle.TrustBundle(
                new io.isthmus.trust.spiffe.TrustDomain("cluster-a.acme.internal"),
                List.of(first.certificate(), next.certificate()), List.of(), 1, Optional.empty())));
        var trust = new io.isthmus.registry.signing.SvidEntryTrust(svid::get, new io.isthmus.trust.svid.X509SvidVerifier(
                pki.roots(), bundles::bundleFor, clock, Duration.ofSeconds(30)), clock, java.util.Map.of());
        DefaultCacheManager signed = localCacheManager();
        InfinispanRegistry r = new InfinispanRegistry(signed.<String, String>getCache("registry"), identity, clock, trust);
        try {
            for (int i = 0; i < 5; i++) {
                r.export(spec("svc-" + i));
            }
            LeaseKeeper keeper = new LeaseKeeper(r, clock);
            clock.advance(Duration.ofSeconds(61)); // past the re-assertion after start
            keeper.tick();
            java.util.Map<String, String> before = entriesBesideHeartbeat(signed);
            clock.advance(Duration.ofSeconds(10));
            keeper.tick();
            java.util.Map<String, String> young = entriesBesideHeartbeat(signed);
            assertThat(young).as("young entries under an unchanged CA are not signed again").isEqualTo(before);
            assertThat(signersOf(signed))
                    .containsOnly(first.certificate().getSubjectX500Principal().getName() + " " + keyId(first));
            svid.set(io.isthmus.trust.testing.TestCa.svid(next, gateway));
            clock.advance(Duration.ofSeconds(10));
            keeper.tick();
            assertThat(signersOf(signed)).hasSize(1).containsOnly(
                    next.certificate().getSubjectX500Principal().getName() + " " + keyId(next));
            java.util.Map<String, String> after = entriesBesideHeartbeat(signed);
            clock.advance(Duration.ofSeconds(10));
            keeper.tick();
            java.util.Map<String, String> later = entriesBesideHeartbeat(signed);
            assertThat(later).as("once all are under the new CA, nothing is signed again").isEqualTo(after);
            assertThat(keeper.staleEntries()).isZero();
        } finally {
            r.close();
            signed.stop();
        }
    }

    /** The issuing CA (subject and key) of every stored record's signer, heartbeat included. */
    private static java.util.Set<String> signersOf(DefaultCacheManager m) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        m.<String, String>getCache("registry").values().forEach(v -> EntryCodec.parseValue(v).signature()
                .ifPresent(sig -> out.add(sig.signer().getIssuerX500Principal().getName() + " "
                        + java.util.HexFormat.of().formatHex(sig.signer().getExtensionValue("2.5.29.35")))));
        return out;
    }

    private static String keyId(io.isthmus.trust.ca.CaCredential ca) throws Exception {
        // The authority key identifier a leaf issued by ca carries, in the DER form getExtensionValue returns.
        return java.util.HexFormat.of().formatHex(io.isthmus.trust.testing.TestCa.svid(ca,
                "spiffe://cluster-a.acme.internal/probe").leaf().getExtensionValue("2.5.29.35"));
    }

    @Test
    void aHeartbeatDoesNotCoverAnEntrySignedBeforeItsWindow() {
        // Another cluster's entry, and its heartbeats, as this site receives them (this cache is not replicated, so
        // nothing is signed: what is tested is which entries a heartbeat covers).
        org.infinispan.Cache<String, String> cache = cm.getCache("registry");
        java.time.Instant t0 = clock.instant();
        ServiceKey orphan = new ServiceKey("cluster-b", "billing", "orphan");
        ExportedService e = new ExportedService(orphan, spec(1).ports(), List.of(), new IngressAddress("b.gw.example", 15443),
                Locality.UNKNOWN, 1, 1, t0, Duration.ofSeconds(30));
        cache.put(orphan.toString(), EntryCodec.envelope(EntryCodec.encodeRecord(
                new io.isthmus.registry.RegistryRecord.Live(e, t0)), Optional.empty()));
        String hb = io.isthmus.registry.RegistryRecord.heartbeatKey("cluster-b").toString();
        clock.advance(Duration.ofSeconds(20));
        cache.put(hb, EntryCodec.envelope(EntryCodec.encodeRecord(new io.isthmus.registry.RegistryRecord.SiteHeartbeat(
                "cluster-b", clock.instant(), t0)), Optional.empty()));
        clock.advance(Duration.ofSeconds(20));
        assertThat(registry.get(orphan)).hasValueSatisfying(x -> assertThat(x.stale(clock.instant())).isFalse());
        // cluster-b no longer holds the entry (this site missed its removal): its window moved past the entry.
        cache.put(hb, EntryCodec.envelope(EntryCodec.encodeRecord(new io.isthmus.registry.RegistryRecord.SiteHeartbeat(
                "cluster-b", clock.instant(), t0.plusSeconds(1))), Optional.empty()));
        clock.advance(Duration.ofSeconds(20));
        assertThat(registry.get(orphan)).hasValueSatisfying(x -> assertThat(x.stale(clock.instant())).isTrue());
        // A heartbeat older than the one held (a replay) changes nothing.
        cache.put(hb, EntryCodec.envelope(EntryCodec.encodeRecord(new io.isthmus.registry.RegistryRecord.SiteHeartbeat(
                "cluster-b", t0.plusSeconds(5), t0)), Optional.empty()));
        assertThat(registry.get(orphan)).hasValueSatisfying(x -> assertThat(x.stale(clock.instant())).isTrue());
        assertThat(registry.refusals(io.isthmus.registry.signing.EntryRefusal.REPLAYED)).isEqualTo(1);
    }

    @Test
    void refusesToExportIntoTheRegistrysOwnNamespace() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> registry.export(new ExportSpec(
                io.isthmus.registry.RegistryRecord.heartbeatKey("cluster-a"), spec(1).ports(), List.of(), 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("_isthmus");
    }
}
